import { createHash, hash } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { Hex } from './hex';

/** SHA-256 from node:crypto (native; about 3x faster here than a JS implementation). */
export function sha256(...parts: Uint8Array[]): Buffer {
  if (parts.length === 1) return hash('sha256', parts[0], 'buffer');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 of the UTF-8 bytes of `text`, as 0x hex (one native call: no Hash object, no Buffer). */
export function sha256Utf8Hex(text: string): Hex {
  return `0x${hash('sha256', text, 'hex')}`;
}

/** SHA-256 of the UTF-8 bytes of the canonical JSON of `value`, as 0x hex. */
export function hashCanonical(value: unknown): Hex {
  return sha256Utf8Hex(canonicalJson(value));
}
