import { expect } from 'chai';
import fc from 'fast-check';
import { splitByBytes } from '../../src/core/split-by-bytes';

describe('splitByBytes', () => {
  it('keeps every item, in order, in parts within the byte and item limits unless an item alone is over the bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 })), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 10 }), (sizes, max, maxItems) => {
        const parts = splitByBytes(sizes.map((n, i) => ({ n, i })), (x) => x.n, max, maxItems);
        expect(parts.flat().map((x) => x.i)).to.deep.equal(sizes.map((_, i) => i));
        for (const p of parts) {
          expect(p.length).to.be.greaterThan(0).and.at.most(maxItems);
          const total = p.reduce((a, x) => a + x.n, 0);
          if (p.length > 1) expect(total).to.be.at.most(max);
        }
      }),
    );
  });

  it('puts an item over the limit in a part of its own', () => {
    expect(splitByBytes([1, 5, 1], (x) => x, 3)).to.deep.equal([[1], [5], [1]]);
  });
});
