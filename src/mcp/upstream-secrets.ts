import { referencedVariables } from './env-reference';
import { isEnvTemplate } from './upstream-env';
import { isUrlTemplate } from './upstream-url';
import type { UpstreamSpec } from './types';

/**
 * What an upstream's errors must not repeat: the values the gateway sends it, or gives its
 * process, that were never written down (the log holds `${env:NAME}`, or only a variable's name).
 * An upstream may quote them back — a 401 body echoing the Authorization header, a JSON-RPC error
 * quoting the token it refused, a URL it could not serve, a stdio server printing its environment
 * on stderr — and the SDK keeps that text in its errors (`Error POSTing to endpoint: …`), which the
 * gateway passes to callers, health reasons, spans, and (as its errors' `cause`) to the log.
 * Each value is replaced by its reference (`${env:NAME}`), or `***` for a stdio server's variable
 * given as such (MCP_SERVERS_FILE, in-process), before any of those sees the text.
 */

/** One value to hide, and what the text says in its place. */
export type SecretValue = { value: string; shownAs: string };

/**
 * Values shorter than this are not hidden: no secret is that short, and replacing one would
 * garble the text (`v1`, `401`, `on`).
 */
export const MIN_HIDDEN_LENGTH = 4;

/**
 * The values of `spec`'s secrets in `processEnv`, longest first (a value inside another is
 * replaced within what is left of it, never first): the values its URL template's references hold
 * (as given and percent-decoded), those its headers' references hold (as given and trimmed), and a stdio server's
 * environment (references' values, and the values given as such). Empty for a spec without any.
 * @example upstreamSecrets({ headers: { Authorization: 'Bearer ${env:T}' } }, { T: 'abcd1234' }) // [{ value: 'abcd1234', shownAs: '${env:T}' }]
 */
export function upstreamSecrets(spec: Pick<UpstreamSpec, 'url' | 'headers' | 'env'>, processEnv: NodeJS.ProcessEnv = process.env): SecretValue[] {
  const out = new Map<string, string>();
  const add = (value: string | undefined, shownAs: string) => {
    if (value && value.length >= MIN_HIDDEN_LENGTH && !out.has(value)) out.set(value, shownAs);
  };
  /** `form`: the value as it is sent, when not as given. */
  const references = (template: string, form?: (value: string) => string) => {
    for (const variable of referencedVariables(template)) {
      const value = processEnv[variable];
      add(value, `\${env:${variable}}`);
      if (form && value) add(form(value), `\${env:${variable}}`);
    }
  };
  if (spec.url && isUrlTemplate(spec.url)) references(spec.url, decoded);
  // A header's value is sent trimmed (resolveHeaders): a variable's trailing space never reaches the upstream to be quoted.
  for (const template of Object.values(spec.headers ?? {})) references(template, (v) => v.trim());
  for (const value of Object.values(spec.env ?? {})) if (isEnvTemplate(value)) references(value);
  for (const value of Object.values(spec.env ?? {})) if (!isEnvTemplate(value)) add(value, '***');
  return [...out].map(([value, shownAs]) => ({ value, shownAs })).sort((a, b) => b.value.length - a.value.length);
}

/** A URL component as a server reading it would see it (`key%2Fvalue` as `key/value`). */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not a valid escape sequence: only the value as given can appear.
    return value;
  }
}

/**
 * `text` with each of `secrets` replaced by what it is shown as: as given, or quoted escaped, as
 * an upstream's body or a process's output may write it (escapedForms).
 * @example withoutSecrets('bad token abcd1234', [{ value: 'abcd1234', shownAs: '${env:T}' }]) // 'bad token ${env:T}'
 */
export function withoutSecrets(text: string, secrets: readonly SecretValue[]): string {
  let out = text;
  // Without a backslash or a percent sign no character of it is escaped: the value as given only.
  const escaped = /[\\%]/.test(out);
  for (const s of secrets) {
    if (escaped) out = out.replace(escapedForms(s), () => s.shownAs);
    else if (out.includes(s.value)) out = out.split(s.value).join(s.shownAs);
  }
  return out;
}

const patterns = new WeakMap<SecretValue, RegExp>();

/**
 * A pattern matching `secret`'s value with any of its characters written as JSON writes it in a
 * string (`\/` as PHP does, `\"`, `\\`, `\n`, `\u00e9` or `\u002B` as .NET does) or
 * percent-encoded (`%2F`, `%2f`, `%C3%A9`): a token holding `/` or `+` (base64) quoted in a JSON
 * body, a DSN in a URL a driver repeats. Each escape stands for that very character: nothing else matches.
 */
function escapedForms(secret: SecretValue): RegExp {
  let re = patterns.get(secret);
  if (!re) {
    // A character outside the BMP is two UTF-16 units, each escaped (`\ud83d\ude00`).
    const units = (ch: string) => Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i));
    const hex = (n: number, width: number) => [...n.toString(16).padStart(width, '0')].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');
    const alternatives = [...secret.value].map((ch) => {
      const forms = [literal(ch), units(ch).map((u) => `\\\\u${hex(u, 4)}`).join(''), [...Buffer.from(ch, 'utf8')].map((b) => `%${hex(b, 2)}`).join('')];
      if ('"\\/'.includes(ch)) forms.push(`\\\\${literal(ch)}`);
      const short = JSON_SHORT_ESCAPES[ch];
      if (short) forms.push(`\\\\${short}`);
      return `(?:${forms.join('|')})`;
    });
    re = new RegExp(alternatives.join(''), 'g');
    patterns.set(secret, re);
  }
  return re;
}

const JSON_SHORT_ESCAPES: Record<string, string> = { '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };

/** `ch` as a pattern matching itself. */
function literal(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * `value` without `secrets` (withoutSecrets) in any text it holds: a string, an upstream's
 * JSON-RPC error `data` (a copy), or an error and those it wraps (`cause`) changed in place — their
 * message, stack and other fields. The gateway keeps the SDK's error as its own's cause (what
 * healthCauseOf reads), and a log serialises it whole, the cause's message and stack included: the
 * SDK quotes there what the upstream answered (`Error POSTing to endpoint: {"authorization":"Bearer <value>"}`).
 * Nothing is copied or changed when there is nothing to hide.
 * @example withoutSecretsIn({ hint: 'key abcd1234' }, [{ value: 'abcd1234', shownAs: '${env:K}' }]) // { hint: 'key ${env:K}' }
 */
export function withoutSecretsIn<T>(value: T, secrets: readonly SecretValue[], within: Set<object> = new Set()): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return withoutSecrets(value, secrets) as T;
  // At any depth (an upstream's data may nest the text deep; wellFormed walks it all too), never
  // round a loop (an error whose cause leads back to it): one being walked is being changed already.
  if (value === null || typeof value !== 'object' || within.has(value)) return value;
  within.add(value);
  try {
    return walk(value, secrets, within);
  } finally {
    within.delete(value);
  }
}

function walk<T extends object>(value: T, secrets: readonly SecretValue[], within: Set<object>): T {
  const inner = (v: unknown) => withoutSecretsIn(v, secrets, within);
  if (Array.isArray(value)) return value.map(inner) as T;
  if (value instanceof Error) {
    // message, stack, cause and AggregateError's errors are not enumerable; an SDK's own fields (code, input) are.
    const fields = value as unknown as Record<string, unknown>;
    for (const key of new Set(['message', 'stack', 'cause', 'errors', ...Object.keys(value)])) {
      const was = fields[key];
      const now = inner(was);
      if (now !== was) {
        try {
          fields[key] = now;
        } catch {
          // A read-only field: nothing this process can change.
        }
      }
    }
    return value;
  }
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inner(v)])) as T;
  }
  return value;
}
