import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { toHex } from '../../src/core/hex';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { BATCH_STREAM } from '../../events/audit-streams';
import { readBatchEvents, type SealedBatch } from '../../src/proofs/batch-log';
import { buildTree } from '../../src/proofs/merkle';
import { batchLeaves } from '../../src/proofs/seal-batch';
import { createSealer } from '../../src/proofs/sealer';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { SEALER_KEY } from './pipeline-fixture';

/**
 * Appends from several processes (one store instance, one connection pool each) race a sealer
 * that seals every few events. If an event with a lower position could become visible after a
 * batch covering higher positions was sealed, the sealer (which reads after its last position)
 * would pass it by for good: it would be in no batch. Every event must be in exactly one batch.
 */
function sealBoundarySuite(open: () => Promise<SqlEventStore>): void {
  it('puts every event appended concurrently around seal boundaries in exactly one batch, seq = position', async () => {
    const [sealerStore, ...writers] = await Promise.all([open(), open(), open(), open()]);
    try {
      const sealer = createSealer(sealerStore, { sealerKey: SEALER_KEY, maxEvents: 5, maxWaitMs: 0 });
      let writing = true;
      const sealing = (async () => {
        while (writing) {
          await sealer.tick();
          // better-sqlite3 answers synchronously: without a macrotask turn this loop would never
          // let the writers' callbacks run.
          await new Promise((r) => setImmediate(r));
        }
      })();
      await Promise.all(
        writers.map(async (store, w) => {
          for (let round = 0; round < 12; round++) {
            // Many appends in flight at once per writer: they share transactions (group commit)
            // and interleave with the other writers' transactions on the head lock.
            await Promise.all(
              Array.from({ length: 8 }, (_, i) => {
                const stream = `task-${newId()}`;
                const e = createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'user', id: `w${w}` }, data: { round, i } });
                return store.append(stream, [e], { expectedRevision: 'no_stream' });
              }),
            );
          }
        }),
      );
      writing = false;
      await sealing;
      // Seal the rest; each flush appends a BatchSealed of its own, so stop when only that is left.
      for (;;) {
        const b = await sealer.flush();
        if (!b || b.lastPosition === (await sealerStore.headPosition()) - 1) break;
      }

      const head = await sealerStore.headPosition();
      const batches = (await sealerStore.readStream(BATCH_STREAM)).map((e) => e.data as SealedBatch);
      const owner = new Map<number, number>();
      let nextSeq = 0;
      for (const b of batches) {
        expect(b.firstSeq, `batch ${b.batchId} follows the previous one`).to.equal(nextSeq);
        expect([b.firstPosition, b.lastPosition], `batch ${b.batchId}: seq = position`).to.deep.equal([b.firstSeq, b.lastSeq]);
        const events = await readBatchEvents(sealerStore, b);
        expect(events.map((e) => e.position)).to.deep.equal(Array.from({ length: b.lastSeq - b.firstSeq + 1 }, (_, i) => b.firstSeq + i));
        expect(toHex(buildTree(batchLeaves(b.firstSeq, events)).root), `batch ${b.batchId} root`).to.equal(b.root);
        for (const e of events) {
          expect(owner.has(e.position), `position ${e.position} in two batches`).to.equal(false);
          owner.set(e.position, b.batchId);
        }
        nextSeq = b.lastSeq + 1;
      }
      // Everything but the last BatchSealed (appended by the final flush itself) is sealed.
      expect(nextSeq, 'no event left out').to.equal(head);
      expect(batches.length).to.be.greaterThan(20);
    } finally {
      await Promise.all([sealerStore, ...writers].map((s) => s.close()));
    }
  });
}

describe('sealing while other processes append (seal boundaries)', function () {
  this.timeout(180_000);

  describe('on SQLite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-seal-boundary-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    sealBoundarySuite(() => openSqlEventStore(`sqlite:${join(dir, 'events.db')}`));
  });

  describe('on MariaDB', () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    before(async function () {
      await requireService(this, 'MariaDB', mysqlAvailable);
      db = await createTestDatabase('omc_seal');
    });
    after(async () => db?.drop());
    sealBoundarySuite(() => openSqlEventStore(db!.url));
  });
});
