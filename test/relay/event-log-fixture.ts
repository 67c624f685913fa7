import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { createEvent, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKnex } from '../../src/db/knex';
import { sqlEventStoreOn } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';

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
