import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical';
import { toHex, type Hex } from './hex';

/** SHA-256 from node:crypto (native; about 3x faster here than a JS implementation). */
export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 of the UTF-8 bytes of the canonical JSON of `value`, as 0x hex. */
export function hashCanonical(value: unknown): Hex {
  return toHex(sha256(Buffer.from(canonicalJson(value), 'utf8')));
}
