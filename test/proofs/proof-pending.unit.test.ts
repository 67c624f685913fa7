import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { buildProof } from '../../src/proofs/batches';
import { ProofPendingError } from '../../src/proofs/errors';
import { createSealer } from '../../src/proofs/sealer';
import { queries, SEALER_KEY, submitTasks } from './pipeline-fixture';

async function pendingDetail(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ProofPendingError);
    return (err as ProofPendingError).message;
  }
  return expect.fail('the proof should be pending');
}

/**
 * What an auditor asking too early is told. A batch holding only BatchSealed/BatchAnchored is not
 * sealed on time alone (an idle log would seal its own bookkeeping forever), so the proof of such
 * an event waits for the next other event: `Retry-After` alone would have them poll for ever.
 */
describe('PROOF_PENDING says what the proof waits for', () => {
  let dir: string;
  let store: SqlEventStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-proof-pending-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unsealed event waits for its batch; an unsealed BatchSealed waits for another event as well; a sealed one for its anchor', async () => {
    const [task] = await submitTasks(store, 1);
    const q = queries(store, async () => undefined);
    expect(await pendingDetail(buildProof(q, task.id))).to.equal(`event ${task.id}: its batch is not sealed yet`);

    const sealed = await createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 }).flush();
    expect(sealed?.batchId).to.equal(0);
    expect(await pendingDetail(buildProof(q, task.id))).to.equal(`event ${task.id}: its batch is not anchored yet`);

    const bookkeeping = sealed!.eventId;
    expect(await pendingDetail(buildProof(q, bookkeeping))).to.equal(
      `event ${bookkeeping}: its batch is not sealed yet, and a batch of only BatchSealed and BatchAnchored events is sealed once another event joins it (or it reaches BATCH_MAX_EVENTS)`,
    );
  });
});
