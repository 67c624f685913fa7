import { expect } from 'chai';
import fc from 'fast-check';
import { BYTES_PER_STATEMENT, ROWS_PER_STATEMENT, statementChunks } from '../../src/db/statement-chunks';

describe('statementChunks: multi-row INSERTs that fit one MySQL packet', () => {
  it('keeps every row, in order, within the row and byte bounds (a larger row alone)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(5)), { maxLength: 700 }), (spec) => {
        const sizes = [10, 100_000, BYTES_PER_STATEMENT / 3, BYTES_PER_STATEMENT + 1];
        const rows = spec.map(([s, n], i) => ({ i, body: 'é'.repeat(sizes[s] / 2 + n), n }));
        const parts = statementChunks(rows);
        expect(parts.flat().map((r) => r.i)).to.deep.equal(rows.map((r) => r.i));
        for (const p of parts) {
          expect(p.length).to.be.within(1, ROWS_PER_STATEMENT);
          const bytes = p.reduce((a, r) => a + Buffer.byteLength(r.body) + 24, 0);
          if (p.length > 1) expect(bytes).to.be.at.most(BYTES_PER_STATEMENT);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('packs small rows ROWS_PER_STATEMENT to a statement', () => {
    const parts = statementChunks(Array.from({ length: 450 }, (_, i) => ({ i })));
    expect(parts.map((p) => p.length)).to.deep.equal([200, 200, 50]);
  });
});
