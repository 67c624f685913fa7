import { sha256 } from '../../core/hash';

/**
 * The hash functions a tree is built with (transparency-dev/merkle's LogHasher). Leaf and node
 * inputs get different one-byte prefixes, so a node can never be passed off as a leaf.
 */
export type TreeHasher = {
  hashLeaf(leafInput: Uint8Array): Buffer;
  hashChildren(left: Uint8Array, right: Uint8Array): Buffer;
};

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** RFC 9162 §2.1 with SHA-256: leaf = H(0x00 ‖ input), node = H(0x01 ‖ left ‖ right). */
export const rfc9162Sha256: TreeHasher = {
  hashLeaf: (leafInput) => sha256(LEAF_PREFIX, leafInput),
  hashChildren: (left, right) => sha256(NODE_PREFIX, left, right),
};
