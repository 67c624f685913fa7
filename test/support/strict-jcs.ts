import fc from 'fast-check';
import { createHash } from 'node:crypto';

/**
 * RFC 8785 written here apart from the product (no canonicalize, no JSON.stringify), the way an
 * auditor outside JavaScript has it: strings are Unicode scalar values, so a lone UTF-16 surrogate
 * has no form and throws (Python's json + .encode('utf-8') and Go's encoding/json both fail or
 * change it). Numbers: safe integers only, as DESIGN.md requires of event data.
 */
export function strictJcs(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return quote(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(strictJcs).join(',')}]`;
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
      keys.sort(compareUtf16);
      return `{${keys.map((k) => `${quote(k)}:${strictJcs((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`no JSON form: ${typeof value}`);
  }
}

/** RFC 8785 §3.2.3: keys ordered by their UTF-16 code units. */
function compareUtf16(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d) return d;
  }
  return a.length - b.length;
}

const SHORT: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/** RFC 8785 §3.2.2.2: only `"`, `\` and controls escaped, everything else as it is. */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      throw new Error(`lone surrogate \\u${c.toString(16)} at ${i}: not Unicode text`);
    } else if (SHORT[c]) out += SHORT[c];
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** SHA-256 of the UTF-8 bytes of strictJcs(value), as 0x hex (throws where strictJcs does). */
export function strictJcsHash(value: unknown): string {
  return `0x${createHash('sha256').update(new TextEncoder().encode(strictJcs(value))).digest('hex')}`;
}

/** A lone surrogate, high or low. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/**
 * Text as an upstream or a model may send it: any UTF-16 units, and at least one lone surrogate
 * somewhere most of the time (beside pairs, emoji, controls, quotes).
 */
export const untrustedText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), loneSurrogate, fc.string({ unit: 'binary', maxLength: 20 })).map(([a, l, b]) => a + l + b),
);

/** JSON-like values whose strings and keys are untrustedText. */
export const untrustedJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    untrustedText,
    fc.maxSafeInteger(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(untrustedText, tie('value'), { maxKeys: 4 }),
  ),
})).value;
