import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { createEvent, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKnex } from '../../src/db/knex';
import { sqlEventStoreOn } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';

export type TestLog = {
  url: string;
  knex: Knex;
  store: EventStore;
  checkpoints: SqlCheckpointStore;
  close(): Promise<void>;
};

/** A SQL event store on a fresh SQLite file, with the checkpoint store on the same database. */
export async function openTestLog(): Promise<TestLog> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-relay-'));
  const url = `sqlite:${join(dir, 'log.db')}`;
  const knex = await openKnex(url);
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex, { pollIntervalMs: 50 });
  return {
    url,
    knex,
    store,
    checkpoints: new SqlCheckpointStore(knex),
    close: async () => {
      await store.close();
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Append `streams` × `perStream` events, interleaved across streams so partitions mix, some with
 * a correlation id. Returns what was stored.
 */
/**
 * A test Kafka broker and a fresh event log shared by the tests of the enclosing describe
 * (started in its before hook, closed in its after hook).
 */
export function brokerAndLogPerSuite(): { broker: KafkaBroker; log: TestLog } {
  const env = {} as { broker: KafkaBroker; log: TestLog };
  before(async () => {
    env.broker = await startKafkaBroker();
    env.log = await openTestLog();
  });
  after(async () => {
    await env.log?.close();
    await env.broker?.stop();
  });
  return env;
}

export async function appendEvents(store: EventStore, streams: number, perStream: number, chunk = 25): Promise<RecordedEvent[]> {
  const names = Array.from({ length: streams }, () => `task-${newId()}`);
  const out: RecordedEvent[] = [];
  for (let from = 0; from < perStream; from += chunk) {
    const results = await Promise.all(
      names.map((stream, s) => {
        const events: PendingEvent[] = [];
        for (let i = from; i < Math.min(perStream, from + chunk); i++) {
          events.push(
            createEvent({
              type: i === 0 ? 'TaskSubmitted' : 'TaskStepRecorded',
              stream,
              tenant: s % 2 ? 'acme' : 'globex',
              actor: { kind: 'system', id: 'test' },
              correlationId: i % 3 === 0 ? `corr-${s}-${i}` : undefined,
              data: { i, note: `event ${i} of ${stream}` },
            }),
          );
        }
        return store.append(stream, events);
      }),
    );
    for (const r of results) out.push(...r.events);
  }
  return out.sort((a, b) => a.position - b.position);
}

/** Poll until `check` holds (or fail with `what`). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type Received = { key: string; value: string; headers: Record<string, string>; partition: number; offset: number };

const header = (h: IHeaders | undefined, name: string) => h?.[name]?.toString();

/** Read a whole topic with a fresh consumer group (kafkajs), from the beginning. */
export async function readTopic(brokers: string[], topic: string, expected: number): Promise<Received[]> {
  const kafka = new Kafka({ brokers, clientId: 'reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${Math.random()}`, maxWaitTimeInMs: 100 });
  const out: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers = Object.fromEntries(Object.keys(m.headers ?? {}).map((k) => [k, header(m.headers, k)!]));
          out.push({ key: m.key!.toString(), value: m.value!.toString(), headers, partition: batch.partition, offset: Number(m.offset) });
        }
      },
    });
    await eventually(() => out.length >= expected, `${expected} messages (got ${out.length})`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Dedupe by event-id keeping first delivery, and check each stream's revisions run 0,1,2,… in order. */
export function checkOrderPerStream(received: Received[]): Map<string, number[]> {
  const seen = new Set<string>();
  const perStream = new Map<string, number[]>();
  for (const m of received) {
    const e = JSON.parse(m.value) as RecordedEvent;
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    perStream.set(e.stream, [...(perStream.get(e.stream) ?? []), e.revision]);
  }
  for (const [stream, revisions] of perStream) {
    expect(revisions, stream).to.deep.equal(revisions.map((_, i) => i));
  }
  return perStream;
}
