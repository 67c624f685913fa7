import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { openKnex } from '../../src/db/knex';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { Relay } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { appendEvents, checkOrderPerStream, readTopic } from './event-log-fixture';

/**
 * The relay reads the SQL store by position while other processes' appends commit: a reader that
 * passed position p must never later find an append below p (the store commits in position order
 * under its head-row lock). Here 8 independent stores append while the relay publishes.
 */
function concurrentAppends(name: string, target: () => Promise<{ url: string; drop(): Promise<void> }>, requires?: (ctx: Mocha.Context) => Promise<void>) {
  describe(`Relay with 8 independent appenders on ${name}`, function () {
    this.timeout(120_000);
    let broker: KafkaBroker;
    let db: { url: string; drop(): Promise<void> } | undefined;
    const stores: SqlEventStore[] = [];

    before(async function () {
      await requires?.(this);
      broker = await startKafkaBroker();
      db = await target();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await db?.drop();
      await broker?.stop();
    });

    it('publishes every event exactly once, in order per stream, while appends commit concurrently', async () => {
      const topic = 'concurrent.events.v1';
      const reader = await openSqlEventStore(db!.url, { pollIntervalMs: 20 });
      stores.push(reader);
      const writers = await Promise.all(Array.from({ length: 8 }, () => openSqlEventStore(db!.url)));
      stores.push(...writers);
      const knex = await openKnex(db!.url);
      const relay = new Relay(reader, new SqlCheckpointStore(knex), {
        brokers: broker.brokers,
        topic,
        maxBatch: 50,
        registry: new Registry(),
        kafka: { logLevel: logLevel.NOTHING },
      });
      await relay.start();
      try {
        const appended = (await Promise.all(writers.map((w) => appendEvents(w, 6, 20, 2)))).flat();
        await relay.waitFor(Math.max(...appended.map((e) => e.position)), 60_000);
        const total = broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
        expect(total).to.equal(appended.length);
        const received = await readTopic(broker.brokers, topic, total);
        expect(new Set(received.map((m) => m.headers['event-id']))).to.deep.equal(new Set(appended.map((e) => e.id)));
        checkOrderPerStream(received);
      } finally {
        await relay.stop();
        await knex.destroy();
      }
    });
  });
}

concurrentAppends('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-relay-cc-'));
  return { url: `sqlite:${join(dir, 'log.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
});
concurrentAppends('MariaDB', () => createTestDatabase('omc_relay_cc'), (ctx) => requireService(ctx, 'MariaDB', mysqlAvailable));
