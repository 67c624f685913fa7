import { expect } from 'chai';
import { ProofPendingError } from '../../src/proofs/errors';

type Module = { proofPendingMessage(detail: string, seconds: string): string };
// The browser module, plain JS with no declarations (as browser-verifier.unit.test.ts loads them).
const file = 'proof-pending-message';
const load = async () => (await import(`../../ui/app/verify/${file}.js`)) as Module;

/**
 * The browser verifier said "This event's batch is not anchored yet" under every PROOF_PENDING,
 * as `openmcp events proof` did: for a batch not sealed yet too, and for a batch of bookkeeping
 * alone, which is sealed only once another event is recorded, whatever the seconds.
 */
describe('browser verifier: what a pending proof waits for, from the server detail', () => {
  const detail = (stage: 'unsealed' | 'unanchored', bookkeeping = false) => new ProofPendingError('e1', stage, 10, bookkeeping).message;

  it('not sealed yet / not anchored yet: says which', async () => {
    const { proofPendingMessage } = await load();
    expect(proofPendingMessage(detail('unsealed'), '10 seconds')).to.equal("This event's batch is not sealed yet. Trying again in 10 seconds.");
    expect(proofPendingMessage(detail('unanchored'), '10 seconds')).to.equal("This event's batch is not anchored yet. Trying again in 10 seconds.");
  });

  it('a batch of bookkeeping alone: sealed only once another event is recorded', async () => {
    const { proofPendingMessage } = await load();
    expect(proofPendingMessage(detail('unsealed', true), '10 seconds')).to.equal(
      "This event's batch is sealed only once another event is recorded (a task, a tool call, a key issued). Trying again in 10 seconds.",
    );
  });
});
