import { concat, fromHex, uintBE } from './hex.js';
import { sha256 } from './sha256.js';

/** RFC 9162 leaf: SHA-256(0x00 ‖ seq as 8-byte big-endian ‖ event hash). @param {number} seq @param {string} eventHash */
export function leafHash(seq, eventHash) {
  return sha256(concat(Uint8Array.of(0), uintBE(seq, 8), fromHex(eventHash, 32)));
}

/** @param {Uint8Array} left @param {Uint8Array} right */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * The root an inclusion path leads to (RFC 9162 §2.1.3.2), walking leaf to root.
 * Requires index < treeSize; throws when the path is too short or too long for the tree.
 * @param {number} index @param {number} treeSize @param {Uint8Array} leaf @param {Uint8Array[]} path
 */
export async function rootFromInclusionProof(index, treeSize, leaf, path) {
  if (!(index >= 0 && index < treeSize)) throw new Error(`index ${index} is outside a tree of ${treeSize}`);
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error(`the path is longer than a tree of ${treeSize} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error(`the path is shorter than a tree of ${treeSize} needs`);
  return r;
}
