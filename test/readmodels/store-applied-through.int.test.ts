/**
 * StoreAppliedThrough on KurrentDB (gRPC fake, real client) over a SQLite audit log: the audit log
 * after a KurrentDB restore (rows of events the restore undid, a checkpoint past the restored
 * log's end).
 */
import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { AUDIT_COMPLETE_CHECKPOINT, StoreAppliedThrough } from '../../src/readmodels/store-applied-through';
import { CHECKPOINT_TABLE, LIVE_TABLES as T } from '../../projections/tables';
import { applyOnce, openTestDb, type TestDb } from '../projections/support';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';

const actor = { kind: 'user' as const, id: 'u' };

describe('StoreAppliedThrough on KurrentDB (gRPC fake)', function () {
  this.timeout(30_000);
  const fakes: KurrentFake[] = [];
  const stores: EventStore[] = [];
  let db: TestDb;

  async function openStore(): Promise<{ fake: KurrentFake; store: EventStore }> {
    const fake = await startKurrentFake();
    const store = await openKurrentEventStore(fake.url);
    fakes.push(fake);
    stores.push(store);
    return { fake, store };
  }
  const append = async (store: EventStore, stream = `task-${newId()}`): Promise<RecordedEvent> =>
    (await store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor, data: { instruction: 'x' } })])).events[0];
  const checkpoint = async () => (await db.knex(CHECKPOINT_TABLE).where('projection', AUDIT_COMPLETE_CHECKPOINT).first('position'))?.position;

  beforeEach(async () => {
    db = await openTestDb('sqlite');
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const f of fakes.splice(0)) await f.stop();
    await db?.close();
  });

  it('passes over any number of rows the store does not hold before its next event (more than one chunk of them: a log restored from an older backup)', async () => {
    const { fake, store } = await openStore();
    const first = await append(store);
    // System records take log positions: room for many rows between our two events.
    for (let i = 0; i < 4; i++) fake.seed(`$stats-${i}`, '$statsCollected');
    const second = await append(store);
    await applyOnce(db, [first, second]);
    const row = await db.knex(T.auditEvents).where('position', first.position).first();
    const stale = Array.from({ length: 300 }, (_, i) => ({ ...row, position: first.position + 1 + i, id: newId() }));
    expect(stale[stale.length - 1].position).to.be.below(second.position);
    for (let i = 0; i < stale.length; i += 50) await db.knex(T.auditEvents).insert(stale.slice(i, i + 50));

    const through = new StoreAppliedThrough(db.knex, store, T.auditEvents);
    let found = await through.find();
    for (let i = 0; i < 3 && found < second.position; i++) found = await through.find();
    expect(found, 'complete through the store event after the rows it does not hold').to.equal(second.position);
  });

  it('drops a complete position past the end of the store\'s log (KurrentDB restored from an older backup): an event appended after the restore below it is waited for, not passed over', async () => {
    const old = await openStore();
    const a1 = await append(old.store);
    for (let i = 0; i < 3; i++) old.fake.seed(`$stats-${i}`, '$statsCollected');
    const undone = [await append(old.store), await append(old.store)];
    await applyOnce(db, [a1, ...undone]);
    expect(await new StoreAppliedThrough(db.knex, old.store, T.auditEvents).find()).to.equal(undone[1].position);
    expect(Number(await checkpoint())).to.equal(undone[1].position);

    // The backup held a1 only; the first event appended after the restore lands below the checkpoint.
    const restored = await openStore();
    expect((await restored.store.append(a1.stream, [a1])).events[0].position).to.equal(a1.position);
    const after = await append(restored.store);
    expect(after.position).to.be.above(a1.position).and.below(undone[0].position);
    const through = new StoreAppliedThrough(db.knex, restored.store, T.auditEvents);
    expect(await through.find(), 'not applied yet: held before it').to.be.below(after.position);
    await applyOnce(db, [after]);
    expect(await through.find(), 'applied: listed').to.equal(after.position);
    expect(Number(await checkpoint())).to.equal(after.position);
  });

  it('reads the store once for the finds asked while one reads it (a busy API: one $all read at a time, not one per list)', async () => {
    const { store } = await openStore();
    const events = [await append(store), await append(store)];
    await applyOnce(db, events);
    let reads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gated: Pick<EventStore, 'readAll' | 'headPosition'> = {
      readAll: async (o) => {
        reads++;
        await gate;
        return store.readAll(o);
      },
      headPosition: () => store.headPosition(),
    };
    const through = new StoreAppliedThrough(db.knex, gated, T.auditEvents);
    const turn = () => new Promise((r) => setImmediate(r));
    const finds = [through.find()];
    while (reads === 0) await turn();
    // Lists of later loop turns, while the first read is on its way.
    for (let i = 0; i < 5; i++) {
      finds.push(through.find());
      await turn();
    }
    release();
    expect(await Promise.all(finds)).to.deep.equal(finds.map(() => events[1].position));
    expect(reads, 'reads of the store').to.equal(1);
  });
});
