import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import vectors from '../vectors/merkle.json';
import { fromHex, toHex } from '../../src/core/hex';
import {
  buildTree,
  InvalidInclusionProofError,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  RootMismatchError,
  verifyInclusion,
} from '../../src/proofs/merkle';

describe('merkle (RFC 9162) against the reference vectors', () => {
  for (const t of vectors.trees) {
    describe(`tree of ${t.treeSize}`, () => {
      const leaves = t.eventHashes.map((h, i) => leafHash(t.firstSeq + i, h));

      it('reproduces every leaf hash', () => {
        expect(leaves.map(toHex)).to.deep.equal(t.leafHashes);
      });

      it('reproduces the root', () => {
        expect(toHex(buildTree(leaves).root)).to.equal(t.root);
      });

      it('reproduces every inclusion proof and verifies it', () => {
        const tree = buildTree(leaves);
        for (const p of t.proofs) {
          expect(p.seq).to.equal(t.firstSeq + p.index);
          expect(tree.inclusionProof(p.index).map(toHex)).to.deep.equal(p.path);
          const root = rootFromInclusionProof(p.index, t.treeSize, leaves[p.index], p.path.map((x) => fromHex(x)));
          expect(toHex(root)).to.equal(t.root);
        }
      });
    });
  }

  it('node hash is H(0x01 ‖ left ‖ right)', () => {
    const t = vectors.trees.find((x) => x.treeSize === 2)!;
    expect(toHex(nodeHash(fromHex(t.leafHashes[0]), fromHex(t.leafHashes[1])))).to.equal(t.root);
  });
});

describe('merkle properties', () => {
  const treeArb = fc.record({
    size: fc.integer({ min: 1, max: 300 }),
    firstSeq: fc.integer({ min: 0, max: 2 ** 40 }),
    seed: fc.integer(),
  });
  const makeLeaves = (size: number, firstSeq: number) =>
    Array.from({ length: size }, (_, i) => leafHash(firstSeq + i, randomBytes(32)));

  it('every leaf of a random tree of 1..300 leaves verifies against the root', () => {
    fc.assert(
      fc.property(treeArb, ({ size, firstSeq }) => {
        const leaves = makeLeaves(size, firstSeq);
        const tree = buildTree(leaves);
        for (let i = 0; i < size; i++) verifyInclusion(i, size, leaves[i], tree.inclusionProof(i), tree.root);
      }),
      { numRuns: 40 },
    );
  });

  it('flipping any one bit of the leaf, a path node or the root makes verification fail', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), fc.constantFrom('leaf', 'path', 'root'), ({ size, firstSeq }, pick, bit, where) => {
        const leaves = makeLeaves(size, firstSeq);
        const tree = buildTree(leaves);
        const index = pick % size;
        const leaf = Buffer.from(leaves[index]);
        const path = tree.inclusionProof(index).map((b) => Buffer.from(b));
        const root = Buffer.from(tree.root);
        const target = where === 'leaf' || (where === 'path' && path.length === 0) ? leaf : where === 'root' ? root : path[bit % path.length];
        const b = bit % 256;
        target[b >> 3] ^= 1 << (b & 7);
        expect(() => verifyInclusion(index, size, leaf, path, root)).to.throw(RootMismatchError);
      }),
      { numRuns: 300 },
    );
  });

  it('a proof for the wrong index or size fails', () => {
    const leaves = makeLeaves(13, 0);
    const tree = buildTree(leaves);
    const path = tree.inclusionProof(5);
    expect(() => verifyInclusion(6, 13, leaves[5], path, tree.root)).to.throw();
    expect(() => verifyInclusion(5, 8, leaves[5], path, tree.root)).to.throw(InvalidInclusionProofError, /too long/);
    expect(() => rootFromInclusionProof(13, 13, leaves[0], [])).to.throw(InvalidInclusionProofError);
    expect(() => rootFromInclusionProof(0, 13, leaves[0], [])).to.throw(InvalidInclusionProofError, /too short/);
  });

  it('the mismatch error carries expected and computed roots', () => {
    const leaves = makeLeaves(3, 7);
    const tree = buildTree(leaves);
    const wrong = Buffer.alloc(32, 1);
    try {
      verifyInclusion(0, 3, leaves[0], tree.inclusionProof(0), wrong);
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(RootMismatchError);
      expect((err as RootMismatchError).expectedRoot).to.equal(toHex(wrong));
      expect((err as RootMismatchError).computedRoot).to.equal(toHex(tree.root));
      expect((err as RootMismatchError).code).to.equal('MERKLE_ROOT_MISMATCH');
    }
  });
});
