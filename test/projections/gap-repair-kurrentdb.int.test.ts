/**
 * The gap repair on KurrentDB (gRPC fake, real client): positions have gaps, so what the read
 * models lack is an event of the store's log, not a missing number; an event the bus never
 * delivers would otherwise hold GET /v1/events there for good.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { Bus } from '../../src/bus/port';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { GapRepair } from '../../src/projector/gap-repair';
import { Projector } from '../../src/projector/projector';
import { appliersFor } from '../../src/projector/appliers-for';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { openTestDb, type TestDb } from './support';

const actor = { kind: 'user' as const, id: 'u' };
const BOUND_MS = 60_000;

/** The in-process bus, except that it never delivers the events `lost` picks. */
function losingBus(inner: Bus, lost: (e: RecordedEvent) => boolean): Bus {
  return {
    name: 'losing',
    consume: (group, handler, options) => inner.consume(group, (events) => handler(events.filter((e) => !lost(e))), options),
    close: () => inner.close(),
  };
}

describe('an event the bus never delivers is repaired from KurrentDB (gRPC fake)', function () {
  this.timeout(60_000);
  let fake: KurrentFake;
  let store: EventStore;
  let db: TestDb;
  let projector: Projector | undefined;

  before(async () => {
    fake = await startKurrentFake();
    store = await openKurrentEventStore(fake.url);
    db = await openTestDb('sqlite');
  });
  after(async () => {
    await projector?.stop();
    await db?.close();
    await store?.close();
    await fake?.stop();
  });

  it('holds the list before the lost event until it has been missing for the bound, then applies it from the store: the list and the task catch up', async () => {
    const a = `task-${newId()}`;
    const b = `task-${newId()}`;
    const lost = (e: RecordedEvent) => e.stream === a && e.type === 'TaskCompleted';
    projector = new Projector({ knex: db.knex, bus: losingBus(new InProcessBus(store, new MemoryCheckpointStore()), lost), appliers: appliersFor(store) });
    await projector.start();
    const rm = new SqlReadModels({ knex: db.knex, applied: projector.applied, store });
    const all: RecordedEvent[] = [];
    for (const [type, data] of [['TaskSubmitted', { instruction: 'x' }], ['TaskStarted', {}], ['TaskCompleted', { output: 'done' }]] as const) {
      for (const stream of [a, b]) all.push(...(await store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor, data })])).events);
    }
    const lostAt = all.findIndex(lost);
    expect(await rm.waitForPosition(all[all.length - 1].position, 10_000), 'every event after the lost one is applied').to.equal(true);
    const listed = async () => (await rm.listAuditEvents(null, { limit: 100 })).items.map((e) => e.position);
    expect(await listed(), 'held before the lost event').to.deep.equal(all.slice(0, lostAt).map((e) => e.position));

    let now = Date.parse('2026-12-11T10:00:00Z');
    const repaired: number[][] = [];
    const held: string[] = [];
    const p = projector;
    const repair = new GapRepair({
      knex: db.knex,
      store,
      apply: (events) => p.applyEvents(events),
      replay: (events) => p.replayStream(events),
      afterMs: BOUND_MS,
      clock: () => new Date(now),
      registry: new Registry(),
      appliers: appliersFor(store),
      onRepaired: (positions) => repaired.push(positions),
      onHeld: (_position, reason) => held.push(reason),
    });
    await repair.check();
    now += BOUND_MS - 1;
    await repair.check();
    expect(repaired, 'nothing repaired within the bound (a partition may only be late)').to.deep.equal([]);
    now += 1;
    await repair.check();
    expect(repaired).to.deep.equal([[all[lostAt].position]]);
    expect(held).to.deep.equal([]);
    expect(await listed(), 'every event, in position order').to.deep.equal(all.map((e) => e.position));
    expect((await rm.getTask('acme', a.slice('task-'.length)))?.status).to.equal('completed');
  });
});
