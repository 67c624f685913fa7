/**
 * Keyset lists: a deep page (page BENCH_DEEP_PAGE, default 200, after its cursor) against the
 * first page of the same list, on SQLite and MariaDB, with the plan of the deep page's list query
 * (SQLite EXPLAIN QUERY PLAN; MariaDB ANALYZE, whose r_rows is the rows actually read). A cursor
 * that seeks costs about the same on any page (ratio ≈ 1); one that scans from the top of the
 * index grows with the page number.
 * Run: npx tsx bench/list-pages.bench.ts   (needs MariaDB on 127.0.0.1:3306 for its half)
 * BENCH_ROWS (default 50000) rows per list across three tenants (acme 60 %), BENCH_ROUNDS (default
 * 15) timings of each page, BENCH_DIALECTS (default "sqlite,mysql").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../migrations';
import { SqlKeyStore } from '../src/auth/sql-key-store';
import { newId } from '../src/core/ids';
import { dialectOf, openKnex } from '../src/db/knex';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { LIVE_TABLES as T } from '../projections/tables';
import { planOfFirstQuery } from '../test/support/query-plan';
import { createTestDatabase, mysqlAvailable } from '../test/support/services';
import { printTable } from './stats';

const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const DEEP = Number(process.env.BENCH_DEEP_PAGE ?? 200);
const LIMIT = 50;
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,mysql').split(',');

const tenantOf = (i: number) => (i % 10 < 6 ? 'acme' : i % 10 < 9 ? 'globex' : 'initech');
// Eight rows per millisecond: deep pages start inside runs of equal sort keys.
const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 8)).toISOString();
const STATUSES = ['completed', 'completed', 'failed', 'running'];

async function insertAll(knex: Knex, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await knex(table).insert(rows.slice(i, i + 500));
}

async function fill(knex: Knex): Promise<void> {
  const n = Array.from({ length: ROWS }, (_, i) => i);
  await insertAll(knex, T.tasks, n.map((i) => ({ id: newId(), tenant: tenantOf(i), status: STATUSES[i % 4], agent_id: `agent-${(i >> 1) % 2}`, created_at: at(i), updated_at: at(i), revision: 0, position: i })));
  await insertAll(knex, T.toolCalls, n.map((i) => ({ id: newId(), tenant: tenantOf(i), server_id: 's', server: 'examples', tool: 'echo', status: 'completed', requested_at: at(i), requested_position: i, revision: 0 })));
  await insertAll(knex, T.auditEvents, n.map((i) => ({ position: i, id: newId(), stream: `task-${i}`, revision: 0, type: i % 2 ? 'TaskSubmitted' : 'TaskStarted', tenant: tenantOf(i), occurred_at: at(i), hash: '0x00', body: JSON.stringify({ position: i }) })));
  await insertAll(knex, T.batches, n.map((i) => ({ batch_id: i, first_seq: i, last_seq: i })));
  await insertAll(knex, 'api_keys', n.map((i) => ({ id: newId(), tenant: tenantOf(i), role: 'viewer', prefix: 'p', key_hash: `0x${i.toString(16).padStart(64, '0')}`, created_at: at(i), created_by: 'bench' })));
  if (dialectOf(knex) === 'mysql') for (const t of [T.tasks, T.toolCalls, T.auditEvents, T.batches, 'api_keys']) await knex.raw('ANALYZE TABLE ??', [t]);
  else await knex.raw('ANALYZE');
}

/** A list as a function of its cursor (undefined = first page) returning the next one. */
type Lister = (cursor: string | undefined) => Promise<string | undefined>;

function lists(knex: Knex): Record<string, Lister> {
  const rm = new SqlReadModels({ knex });
  // As main.ts builds it on the SQL event store: the audit list first finds the prefix applied without a gap.
  const gapFree = new SqlReadModels({ knex, gapFreePositions: true });
  const keys = new SqlKeyStore(knex);
  const page = async (p: Promise<{ nextCursor?: string }>) => (await p).nextCursor;
  const after = (c: string | undefined) => (c === undefined ? undefined : Number(c));
  const keyPage = async (tenant: string | null, c: string | undefined) => (await keys.list({ tenant, limit: LIMIT, afterId: c })).at(-1)?.id;
  return {
    'tasks': (c) => page(rm.listTasks('acme', { limit: LIMIT, cursor: c })),
    'tasks status=completed': (c) => page(rm.listTasks('acme', { limit: LIMIT, status: 'completed', cursor: c })),
    'tasks agentId=agent-1': (c) => page(rm.listTasks('acme', { limit: LIMIT, agentId: 'agent-1', cursor: c })),
    'tool-calls': (c) => page(rm.listToolCalls('acme', { limit: LIMIT, cursor: c })),
    'events (tenant)': (c) => page(rm.listAuditEvents('acme', { limit: LIMIT, after: after(c) })),
    'events (tenant, type)': (c) => page(rm.listAuditEvents('acme', { limit: LIMIT, type: 'TaskSubmitted', after: after(c) })),
    'events (all tenants)': (c) => page(rm.listAuditEvents(null, { limit: LIMIT, after: after(c) })),
    'events (tenant), gap-free store': (c) => page(gapFree.listAuditEvents('acme', { limit: LIMIT, after: after(c) })),
    'events (tenant, type), gap-free store': (c) => page(gapFree.listAuditEvents('acme', { limit: LIMIT, type: 'TaskSubmitted', after: after(c) })),
    'events (all tenants), gap-free store': (c) => page(gapFree.listAuditEvents(null, { limit: LIMIT, after: after(c) })),
    'batches (read model)': (c) => page(rm.listBatches({ limit: LIMIT, after: after(c) })),
    'keys (tenant)': (c) => keyPage('acme', c),
    'keys (all tenants)': (c) => keyPage(null, c),
  };
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

async function run(dialect: string): Promise<void> {
  let knex: Knex;
  let close: () => Promise<void>;
  if (dialect === 'mysql') {
    try {
      await mysqlAvailable();
    } catch {
      console.log('MariaDB not reachable on 127.0.0.1:3306: skipped');
      return;
    }
    const db = await createTestDatabase('omc_bench_pages');
    knex = await openKnex(db.url);
    close = async () => (await knex.destroy(), await db.drop());
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'omc-bench-pages-'));
    knex = await openKnex(`sqlite:${join(dir, 'rm.db')}`);
    close = async () => (await knex.destroy(), rmSync(dir, { recursive: true, force: true }));
  }
  try {
    await migrateLatest(knex);
    await fill(knex);
    const rows: Record<string, string | number>[] = [];
    const plans: string[] = [];
    for (const [name, list] of Object.entries(lists(knex))) {
      let cursor: string | undefined;
      for (let p = 1; p < DEEP; p++) cursor = await list(cursor);
      if (cursor === undefined) throw new Error(`${name}: fewer than ${DEEP} pages`);
      const deepCursor = cursor;
      const first: number[] = [];
      const deep: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        first.push(await timeMs(() => list(undefined)));
        deep.push(await timeMs(() => list(deepCursor)));
      }
      rows.push({ list: name, 'page 1 ms': median(first), [`page ${DEEP} ms`]: median(deep), [`page ${DEEP} / page 1`]: median(deep) / median(first) });
      // The gap-free lists run the same list query after reading the applied prefix (whose first statement, MAX(position), the plan would be of).
      if (!name.includes('gap-free')) plans.push(`  ${name}: ${(await planOfFirstQuery(knex, () => list(deepCursor))).map((l) => l.detail).join(' | ')}`);
    }
    console.log(`\n${dialect}: ${ROWS} rows per list (acme ${ROWS * 0.6}), ${LIMIT} a page, medians of ${ROUNDS}`);
    printTable(rows);
    console.log(`plans of page ${DEEP}'s list query:`);
    for (const p of plans) console.log(p);
  } finally {
    await close();
  }
}

(async () => {
  for (const d of DIALECTS) await run(d);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
