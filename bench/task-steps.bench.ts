/**
 * Projector throughput on tasks of many steps. Since the tasks projection keeps the proposals
 * waiting for approval (de7aac47), every step event also rewrites the task's `rm_tasks` row; and the
 * step-runs projection read, for each step event, every step its task had run. Tasks of 1, 20 and
 * 100 steps (TaskSubmitted, TaskStarted, a TaskStepStarted and TaskStepCompleted per step,
 * TaskCompleted), BENCH_CONCURRENT tasks (default 10) running at a time, their events interleaved
 * as concurrent tasks append them, applied in deliveries of BENCH_BATCH events (default 10, a live
 * projector's; 500 is a catch-up's), each run into fresh tables, three variants rotated in the same
 * run (appliersOf): `baseline` (the same events, the step events not touching `rm_tasks`), `main`
 * (the current projector with its step runs loaded per task, as main did before this change:
 * loadWholeTasks, not an older commit's code), `current`. What grows with a
 * task's steps shows as events/s falling from 1 to 100 steps; what the `rm_tasks` rewrite costs, as
 * current/baseline; what loading a step event's own step saves, as current/main.
 * Run: npm run bench:task-steps   (MariaDB on 127.0.0.1:3306 for the MariaDB rows)
 * BENCH_EVENTS (default 2000) per run, BENCH_STEPS (default 1,20,100), BENCH_ROUNDS (default 3),
 * BENCH_DIALECTS (sqlite,mariadb), BENCH_INSTRUCTION_BYTES (default 100), BENCH_CACHE=1 refreshes a memory cache after each delivery (the
 * task views, as `openmcp start` does with Redis).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../migrations';
import { MemoryCache } from '../src/cache/memory';
import { createEvent, type PendingEvent, type RecordedEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import type { EventStore } from '../src/eventstore/port';
import { sqlEventStoreOn } from '../src/eventstore/sql';
import { Projector } from '../src/projector/projector';
import { projectionSchemas } from '../src/readmodels/schema';
import { defaultAppliers } from '../projections';
import { documentApplier, type DocumentStore } from '../projections/document-applier';
import { taskStepsProjection, type StepRunDoc } from '../projections/task-steps.projection';
import { stepRunFromRow, stepRunSqlStore } from '../projections/task-steps.sql';
import type { ProjectionApplier } from '../projections/projection';
import { LIVE_TABLES, type ReadModelTables } from '../projections/tables';
import { createTestDatabase } from '../test/support/services';

const actor = { kind: 'user' as const, id: 'bench' };
const h = `0x${'1'.repeat(64)}`;
const ev = (type: string, stream: string, data: Record<string, unknown>) => createEvent({ type, stream, tenant: 'acme', actor, data });
/** BENCH_INSTRUCTION_BYTES (default 100): the task's instruction, which a rewrite of its `rm_tasks` row sends again. */
const INSTRUCTION = 'i'.repeat(Number(process.env.BENCH_INSTRUCTION_BYTES ?? 100));
const RESULT = JSON.stringify({ content: [{ type: 'text', text: 'x'.repeat(200) }] });

/** One task's events in stream order. */
function taskEvents(stream: string, steps: number): PendingEvent[] {
  const out: PendingEvent[] = [
    ev('TaskSubmitted', stream, { instruction: INSTRUCTION, steps: Array.from({ length: steps }, (_, i) => ({ tool: 'examples__echo', arguments: { text: `hi ${i}` } })) }),
    ev('TaskStarted', stream, {}),
  ];
  for (let i = 0; i < steps; i++) {
    out.push(ev('TaskStepStarted', stream, { stepId: `step-${i}`, index: i, tool: 'examples__echo', argumentsHash: h, source: 'steps', idempotent: true }));
    out.push(ev('TaskStepCompleted', stream, { stepId: `step-${i}`, resultHash: h, resultJson: RESULT, isError: false }));
  }
  out.push(ev('TaskCompleted', stream, { output: { text: 'done' } }));
  return out;
}

/**
 * Tasks of `steps` steps, about `events` events in all, run `concurrent` at a time: each such group's
 * events appended round-robin (one event per task per round), so that a delivery of `concurrent`
 * events touches as many tasks whatever their steps.
 */
async function appendInterleaved(store: EventStore, steps: number, events: number, concurrent: number): Promise<void> {
  const per = 2 * steps + 3;
  const tasks = Math.max(1, Math.round(events / per));
  for (let from = 0; from < tasks; from += concurrent) {
    const group = Array.from({ length: Math.min(concurrent, tasks - from) }, () => {
      const stream = `task-${newId()}`;
      return { stream, events: taskEvents(stream, steps) };
    });
    for (let round = 0; round < per; round++) {
      // One at a time so the positions interleave the tasks in a fixed order.
      for (const t of group) await store.append(t.stream, [t.events[round]], { expectedRevision: round === 0 ? 'no_stream' : round - 1 });
    }
  }
}

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({ after: out.length ? out[out.length - 1].position : undefined, limit: 5000 });
    if (!page.length) return out;
    out.push(...page);
  }
}

const BEFORE = new Set(['TaskSubmitted', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskCancelled']);

/** `stepRunSqlStore.load` as on main up to 2026-12-07: every step row of the tasks named, kept if wanted. */
const loadWholeTasks: DocumentStore<StepRunDoc>['load'] = async (db, t, ids) => {
  const out = new Map<string, StepRunDoc>();
  if (!ids.length) return out;
  const byTask = [...new Set(ids.map((id) => id.slice(0, id.lastIndexOf('/'))))];
  const wanted = new Set(ids);
  for (const r of await db(t.taskStepRuns).whereIn('task_id', byTask)) {
    const key = `${r.task_id}/${r.step_id}`;
    if (wanted.has(key)) out.set(key, stepRunFromRow(r));
  }
  return out;
};

type Variant = 'baseline' | 'main' | 'current';

/**
 * The projector of each variant: `current` as it is; `main` with the step runs loaded per task as
 * before this change; `baseline` the current one with the tasks projection seeing only the task's
 * own events, as before de7aac47: the same events, the step events never touching `rm_tasks`.
 */
function appliersOf(v: Variant): ProjectionApplier[] {
  return defaultAppliers({ seqFromPosition: true }).map((a) => {
    if (a.name === 'task-steps' && v === 'main') return documentApplier(taskStepsProjection, { ...stepRunSqlStore, load: loadWholeTasks });
    if (a.name === 'tasks' && v === 'baseline') return { ...a, canHandle: (e: RecordedEvent) => BEFORE.has(e.type) && a.canHandle(e) };
    return a;
  });
}

let tableSet = 0;
async function freshTables(knex: Knex): Promise<ReadModelTables> {
  const n = ++tableSet;
  const fresh = Object.fromEntries(Object.entries(LIVE_TABLES).map(([k, v]) => [k, `${v}__b${n}`])) as ReadModelTables;
  for (const s of Object.values(projectionSchemas)) await s.create(knex, fresh);
  return fresh;
}

const lastTables = new Map<Variant, ReadModelTables>();

async function project(knex: Knex, events: RecordedEvent[], v: Variant, batch: number, cache: boolean): Promise<number> {
  const appliers = appliersOf(v);
  const tables = await freshTables(knex);
  const projector = new Projector({ knex, bus: null as never, appliers, tables, cache: cache ? new MemoryCache() : undefined, maxBatch: batch });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < events.length; i += batch) await projector.applyEvents(events.slice(i, i + batch));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await projector.stop();
  lastTables.set(v, tables);
  return events.length / (ms / 1000);
}

/** The read model `main` made and the one `current` made, table by table: they must be the same rows. */
async function sameContent(knex: Knex): Promise<void> {
  const a = lastTables.get('main')!;
  const b = lastTables.get('current')!;
  for (const k of Object.keys(a) as (keyof ReadModelTables)[]) {
    const rows = async (t: string) => (await knex(t).select()).map((r) => JSON.stringify(r)).sort();
    const [ra, rb] = [await rows(a[k]), await rows(b[k])];
    if (ra.length !== rb.length || ra.some((r, i) => r !== rb[i])) throw new Error(`${k}: the current projector's rows differ from main's`);
  }
}

async function dialect(name: string, url: string, stepsList: number[], total: number, batch: number, rounds: number, cache: boolean, concurrent: number) {
  for (const steps of stepsList) {
    const knex = await openKnex(url);
    try {
      await migrateLatest(knex);
      const store = sqlEventStoreOn(knex);
      await appendInterleaved(store, steps, total, concurrent);
      const events = await readEverything(store);
      const variants: Variant[] = ['baseline', 'main', 'current'];
      // A first pass of each, not counted: the JIT and the dialect's caches warm on it.
      for (const v of variants) await project(knex, events, v, batch, cache);
      const runs: Record<Variant, number>[] = [];
      for (let r = 0; r < rounds; r++) {
        // Rotate which goes first, so none always runs on a warmer (or busier) machine.
        const got = {} as Record<Variant, number>;
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(k + r) % variants.length];
          got[v] = await project(knex, events, v, batch, cache);
        }
        runs.push(got);
      }
      await sameContent(knex);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const evs = (v: Variant) => Math.round(median(runs.map((g) => g[v])));
      const ratio = (a: Variant, b: Variant) => median(runs.map((g) => g[a] / g[b])).toFixed(2);
      console.log(
        `${name}, ${steps} step(s)/task, ${events.length} events, ${concurrent} tasks at a time, deliveries of ${batch}${INSTRUCTION.length !== 100 ? `, instructions of ${INSTRUCTION.length} bytes` : ''}${cache ? ', memory cache' : ''} (medians of ${rounds}): ` +
          `baseline ${evs('baseline')} ev/s, main ${evs('main')}, current ${evs('current')}; current/baseline ${ratio('current', 'baseline')} (the rm_tasks rewrite), main/baseline ${ratio('main', 'baseline')}, current/main ${ratio('current', 'main')}`,
      );
      await store.close();
    } finally {
      await knex.destroy();
    }
  }
}

async function main() {
  const total = Number(process.env.BENCH_EVENTS ?? 2000);
  const stepsList = (process.env.BENCH_STEPS ?? '1,20,100').split(',').map(Number);
  const batch = Number(process.env.BENCH_BATCH ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const cache = process.env.BENCH_CACHE === '1';
  const concurrent = Number(process.env.BENCH_CONCURRENT ?? 10);
  const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite,mariadb').split(',');
  const { loadavg } = await import('node:os');
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (dialects.includes('sqlite')) {
    const dir = mkdtempSync(join(tmpdir(), 'omc-bench-steps-'));
    try {
      let i = 0;
      // A fresh file per step count (dialect() opens one knex per count on the same url otherwise).
      for (const steps of stepsList) await dialect('SQLite', `sqlite:${join(dir, `s${i++}.db`)}`, [steps], total, batch, rounds, cache, concurrent);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (dialects.includes('mariadb')) {
    for (const steps of stepsList) {
      const db = await createTestDatabase('omc_bench_steps');
      try {
        await dialect('MariaDB', db.url, [steps], total, batch, rounds, cache, concurrent);
      } finally {
        await db.drop();
      }
    }
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
