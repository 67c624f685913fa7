import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { BatchLog } from '../../src/proofs/batch-log';
import { createSealer } from '../../src/proofs/sealer';
import { SEALER_KEY, submitTasks } from './pipeline-fixture';

/**
 * One BatchLog is shared by the API's proof and batch queries and, in a single process, by the
 * anchorer: its reads overlap. Each must see every batch, never fail on another's refresh.
 */
describe('BatchLog read by several callers at once', () => {
  let dir: string;
  let store: SqlEventStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-batch-log-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('overlapping reads all return every sealed batch (was: "auditbatch-log: expected revision 2, read 0")', async () => {
    await submitTasks(store, 4);
    const sealer = createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 2, maxWaitMs: 0 });
    await sealer.tick();
    await sealer.tick();
    const log = new BatchLog(store);
    const reads = await Promise.all([log.sealedBatches(), log.sealedBatches(), log.batchAtPosition(3)]);
    expect(reads[0].map((b) => b.batchId)).to.deep.equal([0, 1]);
    expect(reads[1].map((b) => b.batchId)).to.deep.equal([0, 1]);
    expect(reads[2]?.batchId).to.equal(1);

    // A read that starts after a seal sees it, even while an earlier read is still on its way.
    await submitTasks(store, 1);
    const earlier = log.sealedBatches();
    await sealer.tick();
    const later = log.sealedBatches();
    await earlier;
    expect((await later).map((b) => b.batchId)).to.deep.equal([0, 1, 2]);
  });
});
