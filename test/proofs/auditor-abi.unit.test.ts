import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Interface } from 'ethers';

const root = join(__dirname, '..', '..');

/**
 * docs/proofs.md §5 gives an auditor's own tool the AuditAnchor views it calls, as signatures it can
 * paste into an ethers human-readable ABI. Each must be the compiled contract's: same selector,
 * same outputs, and `view` (without it ethers sends a transaction instead of calling).
 */
describe('docs/proofs.md names the AuditAnchor views as the contract has them', () => {
  const doc = readFileSync(join(root, 'docs', 'proofs.md'), 'utf8');
  const artifact = new Interface(JSON.parse(readFileSync(join(root, 'contracts', 'AuditAnchor.artifact.json'), 'utf8')).abi);

  // With the views alone, ethers reports batch(id) of a batch not anchored as "execution reverted (unknown custom error)".
  it('AuditAnchorUnknownBatch, the error batch(id) reverts with, as a line an auditor adds to that ABI', () => {
    const written = doc.match(/`(error AuditAnchorUnknownBatch\([^`]*\))`/)?.[1];
    expect(written, 'an `error AuditAnchorUnknownBatch(…)` line in docs/proofs.md').to.be.a('string');
    const fromDoc = new Interface([written!]).getError('AuditAnchorUnknownBatch')!;
    expect(fromDoc.selector).to.equal(artifact.getError('AuditAnchorUnknownBatch')!.selector);
  });

  for (const name of ['batch', 'nextBatchId', 'nextSeq', 'verifyInclusion']) {
    it(`${name}`, () => {
      const written = doc.match(new RegExp('`(' + name + '\\([^`]*\\) view returns \\([^`]*\\))`'))?.[1];
      expect(written, `a \`${name}(…) view returns (…)\` signature in docs/proofs.md`).to.be.a('string');
      const fromDoc = new Interface([`function ${written}`]).getFunction(name)!;
      const compiled = artifact.getFunction(name)!;
      expect(fromDoc.selector).to.equal(compiled.selector);
      expect(fromDoc.outputs.map((o) => o.type)).to.deep.equal(compiled.outputs.map((o) => o.type));
      expect(fromDoc.stateMutability).to.equal(compiled.stateMutability);
    });
  }
});
