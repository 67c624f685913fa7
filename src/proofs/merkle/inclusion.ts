import { rfc9162Sha256, type TreeHasher } from './hasher';
import { InvalidInclusionProofError, RootMismatchError } from './errors';

/**
 * The root implied by an RFC 9162 inclusion proof (§2.1.3.2): `proof` runs from the leaf's
 * sibling up to the child of the root. Requires index < size; throws InvalidInclusionProofError
 * when the proof has the wrong length for (index, size).
 * @example rootFromInclusionProof(2, 3, leaf2, [h01]) // = H(0x01 ‖ h01 ‖ leaf2)
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  hasher: TreeHasher = rfc9162Sha256,
): Buffer {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new InvalidInclusionProofError(`index ${index} is out of range for tree size ${size}`, { index, size });
  }
  if (leafHash.length !== 32) throw new InvalidInclusionProofError(`leaf hash must be 32 bytes, got ${leafHash.length}`);
  // Numbers stay below 2^53, so plain division replaces the RFC's bit shifts safely.
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (p.length !== 32) throw new InvalidInclusionProofError(`proof node must be 32 bytes, got ${p.length}`);
    if (sn === 0) throw new InvalidInclusionProofError(`proof is too long for index ${index} in size ${size}`, { index, size });
    if (fn % 2 === 1 || fn === sn) {
      r = hasher.hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hasher.hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new InvalidInclusionProofError(`proof is too short for index ${index} in size ${size}`, { index, size });
  return r;
}

/**
 * Check that `leafHash` is at `index` in the tree of `size` leaves with root `root`.
 * Throws RootMismatchError (carrying expected and computed roots) or InvalidInclusionProofError.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hasher: TreeHasher = rfc9162Sha256,
): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof, hasher);
  if (!computed.equals(root)) throw new RootMismatchError(root, computed);
}
