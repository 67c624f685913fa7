import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { Bus } from '../../src/bus/port';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import { GAP_REPAIRS_METRIC, GapRepair } from '../../src/projector/gap-repair';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { mysqlAvailable, requireService } from '../support/services';
import { openTestDb, type Dialect, type TestDb } from './support';

const actor = { kind: 'user' as const, id: 'u' };
const BOUND_MS = 60_000;

/** The in-process bus, except that it never delivers the events `lost` picks: gone from Kafka (retention, a recreated topic, an unclean leader election). */
function losingBus(inner: Bus, lost: (e: RecordedEvent) => boolean): Bus {
  return {
    name: 'losing',
    consume: (group, handler, options) => inner.consume(group, (events) => handler(events.filter((e) => !lost(e))), options),
    close: () => inner.close(),
  };
}

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`an event the bus never delivers is repaired from the event store (${dialect})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let projector: Projector;
    let rm: SqlReadModels;
    let registry: Registry;
    let now: number;
    let a: string;
    let lostPosition: number;
    let head: number;
    const repaired: number[][] = [];
    const held: string[] = [];

    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
    });

    beforeEach(async () => {
      db = await openTestDb(dialect);
      a = `task-${newId()}`;
      const b = `task-${newId()}`;
      repaired.length = 0;
      held.length = 0;
      registry = new Registry();
      now = Date.parse('2026-12-11T10:00:00Z');
      // a's TaskCompleted is lost on the way; every event after it is delivered.
      projector = new Projector({ knex: db.knex, bus: losingBus(new InProcessBus(db.store, new MemoryCheckpointStore()), (e) => e.stream === a && e.type === 'TaskCompleted') });
      await projector.start();
      rm = new SqlReadModels({ knex: db.knex, applied: projector.applied, gapFreePositions: true });
      for (const [type, data] of [['TaskSubmitted', { instruction: 'x' }], ['TaskStarted', {}], ['TaskCompleted', { output: 'done' }]] as const) {
        for (const stream of [a, b]) {
          const r = await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor, data })]);
          head = r.position;
          if (stream === a && type === 'TaskCompleted') lostPosition = r.position;
        }
      }
      expect(await rm.waitForPosition(head, 10_000), 'every event after the lost one is applied').to.equal(true);
    });

    afterEach(async () => {
      await projector?.stop();
      await db?.close();
    });

    const repairOf = (store: Pick<EventStore, 'readAll'> = db.store) =>
      new GapRepair({
        knex: db.knex,
        store,
        apply: (events) => projector.applyEvents(events),
        afterMs: BOUND_MS,
        clock: () => new Date(now),
        registry,
        onRepaired: (positions) => repaired.push(positions),
        onHeld: (_position, reason) => held.push(reason),
      });
    const listed = async () => (await rm.listAuditEvents(null, { limit: 100 })).items.map((e) => e.position);
    const counted = async (outcome: string) => (await registry.getSingleMetric(GAP_REPAIRS_METRIC)!.get()).values.find((v) => v.labels.outcome === outcome)?.value;

    it('holds the list at the lost position until it has been missing for the bound, then applies it through the projector: the list, the task and read-your-writes catch up', async () => {
      const all = Array.from({ length: head - lostPosition + 1 }, (_, i) => lostPosition + i);
      const before = await listed();
      expect(before[before.length - 1], 'held right before the lost position').to.equal(lostPosition - 1);
      expect((await rm.getTask('acme', a.slice('task-'.length)))?.status).to.equal('running');

      const repair = repairOf();
      await repair.check();
      now += BOUND_MS - 1;
      await repair.check();
      expect(repaired, 'nothing repaired within the bound (a partition may only be late)').to.deep.equal([]);
      expect((await listed())[before.length - 1]).to.equal(lostPosition - 1);
      expect(await listed()).to.have.length(before.length);

      now += 1;
      await repair.check();
      expect(repaired).to.deep.equal([[lostPosition]]);
      expect(await counted('repaired')).to.equal(1);
      const after = await listed();
      expect(after, 'every event, in position order').to.deep.equal([...before, ...all]);
      expect((await rm.getTask('acme', a.slice('task-'.length)))?.status).to.equal('completed');
      expect(await rm.waitForPosition(lostPosition, 0)).to.equal(true);

      // Done: a later check finds nothing to repair.
      now += BOUND_MS;
      await repair.check();
      expect(repaired).to.have.length(1);
      expect(held).to.deep.equal([]);
    });

    it('keeps holding, and says so, when the event store does not give the event back either, or gives it with a hash that does not check', async () => {
      const missing: Pick<EventStore, 'readAll'> = { readAll: async (o) => (await db.store.readAll(o)).filter((e) => e.position !== lostPosition) };
      const tampered: Pick<EventStore, 'readAll'> = {
        readAll: async (o) => (await db.store.readAll(o)).map((e) => (e.position === lostPosition ? { ...e, data: { output: 'forged' } } : e)),
      };
      const before = await listed();
      for (const [store, outcome, words] of [
        [missing, 'missing_from_store', /not in the event store/],
        [tampered, 'hash_mismatch', /hash/],
      ] as const) {
        const repair = repairOf(store);
        held.length = 0;
        await repair.check();
        now += BOUND_MS;
        await repair.check();
        expect(held, outcome).to.have.length(1);
        expect(held[0]).to.match(words).and.to.contain(String(lostPosition));
        expect(await counted(outcome)).to.equal(1);
        expect(await listed(), 'still held, nothing skipped').to.deep.equal(before);
        // Tried again only after another bound, not at every check.
        now += BOUND_MS - 1;
        await repair.check();
        expect(held).to.have.length(1);
        now += 1;
        await repair.check();
        expect(held).to.have.length(2);
        expect(await counted(outcome)).to.equal(2);
      }
      expect(repaired).to.deep.equal([]);
      expect(await counted('repaired')).to.equal(0);
    });
  });
}
