import { MerkleTree } from 'merkletreejs';
import { sha256 } from '../../core/hash';
import { InvalidInclusionProofError } from './errors';

const NODE_PREFIX = Buffer.from([0x01]);

/** A built RFC 9162 tree over pre-hashed leaves. */
export type BatchTree = {
  readonly size: number;
  readonly root: Buffer;
  /** Sibling hashes from the leaf up to the root's child (RFC 9162 §2.1.3.1). Requires index < size. */
  inclusionProof(index: number): Buffer[];
};

/**
 * Build the tree over leaf hashes (see leafHash). merkletreejs with the node prefix in the
 * concatenator, no pair sorting and no odd-node duplication carries an odd node up unchanged,
 * which equals RFC 9162's split at the largest power of two below n.
 * Requires at least one leaf.
 */
export function buildTree(leafHashes: readonly Buffer[]): BatchTree {
  if (leafHashes.length === 0) throw new InvalidInclusionProofError('a tree needs at least one leaf');
  const tree = new MerkleTree(leafHashes as Buffer[], sha256, {
    concatenator: (xs: Buffer[]) => Buffer.concat([NODE_PREFIX, ...xs]),
  });
  const size = leafHashes.length;
  return {
    size,
    root: tree.getRoot(),
    inclusionProof(index) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new InvalidInclusionProofError(`index ${index} is out of range for tree size ${size}`, { index, size });
      }
      // Passing the index matters: without it merkletreejs scans every leaf for each proof.
      return tree.getProof(leafHashes[index], index).map((p) => p.data);
    },
  };
}
