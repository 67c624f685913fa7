import { expect } from 'chai';
import { shortOfConfirmations } from '../../src/proofs/short-of-confirmations';

const hash = `0x${'ab'.repeat(32)}`;
const at = (blockNumber: number, head: number, confirmations: number) => shortOfConfirmations({ batchId: 4, hash, blockNumber, head, confirmations, waitMs: 500 });

/**
 * The anchorer's word on an anchor whose wait for confirmations timed out. A transaction mined
 * just after the wait gave up (CHAIN_CONFIRMATIONS=1) was reported as "has 1 of the 1
 * confirmations … (a node that mines only for transactions?)": short of nothing, and a wrong hint.
 */
describe('shortOfConfirmations: what the anchorer says of a mined anchor still waiting', () => {
  it('says how far the confirmations got, and hints at a dev node when no block followed', () => {
    expect(at(7, 7, 3)).to.equal(
      `anchor(4) transaction ${hash} is mined in block 7 but has 1 of the 3 confirmations CHAIN_CONFIRMATIONS asks after 500 ms: no block came after it (a node that mines only for transactions?); still waiting`,
    );
    expect(at(7, 8, 3)).to.equal(`anchor(4) transaction ${hash} is mined in block 7 but has 2 of the 3 confirmations CHAIN_CONFIRMATIONS asks after 500 ms; still waiting`);
  });

  it('says nothing once it has the confirmations asked (mined, or the last block came, just after the wait timed out)', () => {
    expect(at(7, 7, 1)).to.equal(undefined);
    expect(at(7, 9, 3)).to.equal(undefined);
    expect(at(7, 20, 3)).to.equal(undefined);
  });
});
