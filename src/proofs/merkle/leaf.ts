import { fromHex } from '../../core/hex';
import { rfc9162Sha256, type TreeHasher } from './hasher';

/**
 * Leaf input = `seq` as 8-byte big-endian ‖ the 32-byte event hash (DESIGN.md).
 * Requires 0 ≤ seq ≤ 2^53-1 and a 32-byte hash.
 */
export function leafInput(seq: number, eventHash: string | Uint8Array): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a non-negative safe integer, got ${seq}`);
  const hash = typeof eventHash === 'string' ? fromHex(eventHash, 32) : Buffer.from(eventHash);
  if (hash.length !== 32) throw new RangeError(`event hash must be 32 bytes, got ${hash.length}`);
  const out = Buffer.allocUnsafe(40);
  out.writeBigUInt64BE(BigInt(seq), 0);
  hash.copy(out, 8);
  return out;
}

/**
 * The leaf hash of the event with audit sequence number `seq`.
 * @example leafHash(0, '0x' + '00'.repeat(32)) // SHA-256(0x00 ‖ 0x0000000000000000 ‖ 0x00…00)
 */
export function leafHash(seq: number, eventHash: string | Uint8Array, hasher: TreeHasher = rfc9162Sha256): Buffer {
  return hasher.hashLeaf(leafInput(seq, eventHash));
}

/** Node hash H(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array, hasher: TreeHasher = rfc9162Sha256): Buffer {
  return hasher.hashChildren(left, right);
}
