/**
 * What holding GET /v1/events at the store's complete position costs on KurrentDB (the KurrentDB
 * gRPC fake driven by the real client, SQLite read models): a tail's page (`after` = near the
 * head, `limit` 50) with the store given to SqlReadModels (StoreAppliedThrough) against the same
 * page without it, in three states: steady (nothing applied since the last list: a checkpoint
 * read and MAX(position)), flowing (BENCH_FLOW, default 20, events applied before each list:
 * the store read from the complete position on) and held (a position missing: one lookup).
 * Run: npx tsx bench/audit-tail.bench.ts   BENCH_ROWS (default 20000) events, BENCH_ROUNDS (default 41).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../migrations';
import { createEvent, type RecordedEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import { openKurrentEventStore } from '../src/eventstore/kurrentdb';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { LIVE_TABLES as T } from '../projections/tables';
import { startKurrentFake } from '../test/support/kurrentdb-fake';
import { printTable } from './stats';

const ROWS = Number(process.env.BENCH_ROWS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 41);
const FLOW = Number(process.env.BENCH_FLOW ?? 20);
const LIMIT = 50;
const actor = { kind: 'user' as const, id: 'bench' };

const row = (e: RecordedEvent) => ({ position: e.position, id: e.id, stream: e.stream, revision: e.revision, type: e.type, tenant: e.tenant, occurred_at: e.occurredAt, hash: e.hash, body: JSON.stringify(e) });

async function insertAll(knex: Knex, events: RecordedEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) await knex(T.auditEvents).insert(events.slice(i, i + 500).map(row));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

(async () => {
  const fake = await startKurrentFake();
  const store = await openKurrentEventStore(fake.url);
  const dir = mkdtempSync(join(tmpdir(), 'omc-bench-tail-'));
  const knex = await openKnex(`sqlite:${join(dir, 'rm.db')}`);
  try {
    await migrateLatest(knex);
    // Enough events for the fill and for every flowing round, 500 to an append.
    const total = ROWS + FLOW * ROUNDS * 4 + 10;
    for (let n = 0; n < total; n += 500) {
      const stream = `task-${newId()}`;
      const count = Math.min(500, total - n);
      await store.append(stream, Array.from({ length: count }, (_, i) => createEvent({ type: 'TaskNoted', stream, tenant: i % 2 ? 'acme' : 'globex', actor, data: { reason: `r${i}` } })));
    }
    const all: RecordedEvent[] = [];
    for (let after = -1; ; ) {
      const page = await store.readAll({ after, limit: 1000 });
      if (!page.length) break;
      all.push(...page);
      after = page[page.length - 1].position;
    }
    await insertAll(knex, all.slice(0, ROWS));
    await knex.raw('ANALYZE');
    let applied = ROWS;
    const plain = new SqlReadModels({ knex });
    const held = new SqlReadModels({ knex, store });
    const tailFrom = () => all[applied - 30].position;
    const list = (rm: SqlReadModels) => rm.listAuditEvents('acme', { limit: LIMIT, after: tailFrom() });
    // The first find reads the store from the start once (as a first start after the upgrade does); kept from then on.
    await list(held);

    const rows: Record<string, string | number>[] = [];
    const measure = async (state: string, before: () => Promise<void>) => {
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await before();
        a.push(await timeMs(() => list(plain)));
        await before();
        b.push(await timeMs(() => list(held)));
      }
      rows.push({ state, 'plain ms': median(a), 'held at store ms': median(b), ratio: median(b) / median(a) });
    };
    await measure('steady', async () => undefined);
    await measure(`flowing (${FLOW} applied per list)`, async () => {
      await insertAll(knex, all.slice(applied, applied + FLOW));
      applied += FLOW;
    });
    // A position missing (a partition held up) and FLOW more applied after it before each list.
    applied++;
    await measure('held (one position missing)', async () => {
      await insertAll(knex, all.slice(applied, applied + FLOW));
      applied += FLOW;
    });
    if ((await held.listAuditEvents(null, { limit: 1, after: all[applied - 2].position })).items.length) throw new Error('the held list ran past the missing position');
    console.log(`\nKurrentDB fake, SQLite read models: ${ROWS} events applied, tail page of ${LIMIT} (acme), medians of ${ROUNDS}`);
    printTable(rows);
  } finally {
    await knex.destroy();
    await store.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
