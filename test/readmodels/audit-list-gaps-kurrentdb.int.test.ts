/**
 * The audit list on KurrentDB (gRPC fake, real client) projected from Kafka (test broker) with
 * several partitions: positions are commit positions with gaps, so the list cannot stop at "the
 * next position"; it stops before the first event of the store the audit log lacks, and a client
 * tailing it with after= or nextCursor misses nothing, as on the SQL store.
 */
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBus, toKafkaMessage } from '../../src/bus/kafka';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore, ReadAllOptions } from '../../src/eventstore/port';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { LIVE_TABLES as T } from '../../projections/tables';
import { openTestDb, type Dialect, type TestDb } from '../projections/support';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { mysqlAvailable, requireService } from '../support/services';

const actor = { kind: 'user' as const, id: 'u' };
const PARTITIONS = 3;

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`the audit list on KurrentDB projected from Kafka partitions (${dialect})`, function () {
    this.timeout(60_000);
    let fake: KurrentFake;
    let store: EventStore;
    let broker: KafkaBroker;
    let db: TestDb;
    let projector: Projector | undefined;
    /** readAll calls made through the store the read models were given. */
    const reads: ReadAllOptions[] = [];
    const counting = () => ({ readAll: (o: ReadAllOptions = {}) => (reads.push(o), store.readAll(o)), headPosition: () => store.headPosition() });

    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      fake = await startKurrentFake();
      store = await openKurrentEventStore(fake.url);
      broker = await startKafkaBroker();
      db = await openTestDb(dialect);
    });
    after(async () => {
      await projector?.stop();
      await db?.close();
      await store?.close();
      await fake?.stop();
      await broker?.stop();
    });

    it('never lists past an event of the store a lagging partition has not applied: a client tailing with after= or nextCursor misses nothing, a held list costs a lookup, and a second process starts from the complete position found', async () => {
      const topic = `tail-${dialect}.events.v1`;
      broker.createTopic(topic, PARTITIONS);
      // Six streams of two tenants, interleaved in the log, stream i on partition (i + 1) % 3; a system record in between (skipped, as the sealer skips it).
      const streams = Array.from({ length: 6 }, () => `task-${newId()}`);
      const all: RecordedEvent[] = [];
      for (let i = 0; i < 3; i++) {
        for (const [n, stream] of streams.entries()) {
          const data = i === 0 ? { instruction: 'x' } : { reason: `r${i}` };
          all.push(...(await store.append(stream, [createEvent({ type: i === 0 ? 'TaskSubmitted' : 'TaskNoted', stream, tenant: n % 2 ? 'globex' : 'acme', actor, data })])).events);
        }
        if (i === 0) fake.seed('$stats-127.0.0.1:2113', '$statsCollected', {});
      }
      const partitionOf = (e: RecordedEvent) => (streams.indexOf(e.stream) + 1) % PARTITIONS;
      const positions = (p: { items: { position: number }[] }) => p.items.map((e) => e.position);
      expect(all.map((e) => e.position).some((p, i) => i > 0 && p !== all[i - 1].position + 1), 'commit positions have gaps').to.equal(true);

      const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      const publish = (partition: number) => producer.send({ topic, messages: all.filter((e) => partitionOf(e) === partition).map((e) => ({ ...toKafkaMessage(e), partition })) });
      // Partition 0 lags: 1 and 2 are published and applied first.
      await publish(1);
      await publish(2);
      const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: (err) => { throw err; } });
      projector = new Projector({ knex: db.knex, bus, lockHoldMs: 0 });
      await projector.start();
      const applied = async () => Number((await db.knex(T.auditEvents).count({ n: '*' }).first())!.n);
      const flowing = all.filter((e) => partitionOf(e) !== 0);
      await eventually(async () => (await applied()) === flowing.length, 'partitions 1 and 2 applied');

      const rm = new SqlReadModels({ knex: db.knex, store: counting() });
      const firstHeld = all.findIndex((e) => partitionOf(e) === 0);
      const before = all.slice(0, firstHeld).map((e) => e.position);
      // The tail: pages of 2 following nextCursor, then after= the last position seen.
      const seen: number[] = [];
      const tail = async () => {
        for (;;) {
          const page = await rm.listAuditEvents(null, { limit: 2, after: seen.length ? seen[seen.length - 1] : undefined });
          seen.push(...positions(page));
          if (page.nextCursor === undefined) return page;
        }
      };
      const held = await tail();
      expect(seen, 'held before the first event partition 0 has not applied').to.deep.equal(before);
      expect(held.nextCursor).to.equal(undefined);
      expect(positions(await rm.listAuditEvents('globex', { limit: 100 })), "another tenant's events wait too").to.deep.equal(before.filter((_, i) => all[i].tenant === 'globex'));
      expect(positions(await rm.listAuditEvents(null, { limit: 100, stream: streams[1] })), 'one stream is not held').to.deep.equal(all.filter((e) => e.stream === streams[1]).map((e) => e.position));

      // While held, a list looks the held position up and reads nothing from the store.
      reads.length = 0;
      expect(positions(await rm.listAuditEvents(null, { limit: 100, after: flowing[flowing.length - 1].position })), 'a client already past it waits too').to.deep.equal([]);
      expect(reads, 'store reads of a list while held').to.deep.equal([]);

      await publish(0);
      await eventually(async () => (await applied()) === all.length, 'partition 0 applied');
      await tail();
      expect(seen, 'the tail saw every event, once, in position order').to.deep.equal(all.map((e) => e.position));

      // Another process (an API replica, a restart) starts from the complete position kept in the database.
      reads.length = 0;
      const other = new SqlReadModels({ knex: db.knex, store: counting() });
      expect(positions(await other.listAuditEvents(null, { limit: 100 }))).to.deep.equal(all.map((e) => e.position));
      expect(reads.every((o) => (o.after ?? -1) >= all[all.length - 1].position), 'read the store from the complete position on').to.equal(true);
      await producer.disconnect();
    });

    it('passes over a row of the audit log the store does not hold (a log restored from an older backup) rather than holding the list there for good', async () => {
      const stream = `task-${newId()}`;
      const events = (await store.append(stream, ['TaskSubmitted', 'TaskNoted', 'TaskNoted'].map((type, i) => createEvent({ type, stream, tenant: 'acme', actor, data: i ? { reason: `r${i}` } : { instruction: 'x' } })))).events;
      const rm = new SqlReadModels({ knex: db.knex, store });
      const from = (await rm.listAuditEvents(null, { limit: 1000 })).items.at(-1)!.position;
      const row = await db.knex(T.auditEvents).where('position', from).first();
      // A row between the first two new events' positions, which the store has no event at.
      await db.knex(T.auditEvents).insert({ ...row, position: events[0].position + 1, id: newId() });
      await projector!.applyEvents(events);
      const listed = (await rm.listAuditEvents(null, { limit: 1000, after: from })).items.map((e) => e.position);
      expect(listed).to.include.members(events.map((e) => e.position));
    });
  });
}
