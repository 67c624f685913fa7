/**
 * Projector throughput against a same-run baseline (plain batched inserts of the same final rows),
 * and command accepted → visible in the read model, p50/p99, embedded and with MariaDB + Redis.
 * Run: npx tsx bench/projector.bench.ts   (needs MariaDB on 127.0.0.1:3306 and Redis on 6379)
 * BENCH_TASKS (default 2000, 5 events each) sizes the throughput run; BENCH_ROUNDS (default 1)
 * repeats the latency runs, each on a fresh database, to show the spread on a noisy machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Knex } from 'knex';
import { migrateLatest } from '../migrations';
import { InProcessBus } from '../src/bus/inprocess';
import { MemoryCache } from '../src/cache/memory';
import { RedisCache } from '../src/cache/redis';
import type { Cache } from '../src/cache/port';
import { SqlCheckpointStore } from '../src/checkpoints';
import { createEvent, type PendingEvent, type RecordedEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import type { EventStore } from '../src/eventstore/port';
import { sqlEventStoreOn } from '../src/eventstore/sql';
import { Projector } from '../src/projector/projector';
import { projectionSchemas } from '../src/readmodels/schema';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { LIVE_TABLES, type ReadModelTables } from '../projections/tables';
import { createTestDatabase, REDIS_TEST_URL, redisTestPrefix } from '../test/support/services';

const actor = { kind: 'user' as const, id: 'bench' };
const h = `0x${'1'.repeat(64)}`;
const ev = (type: string, stream: string, data: Record<string, unknown>) => createEvent({ type, stream, tenant: 'acme', actor, data });

async function appendTasks(store: EventStore, tasks: number): Promise<void> {
  for (let from = 0; from < tasks; from += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, tasks - from) }, () => {
        const stream = `task-${newId()}`;
        const events: PendingEvent[] = [
          ev('TaskSubmitted', stream, { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] }),
          ev('TaskStarted', stream, {}),
          ev('TaskStepStarted', stream, { stepId: 's0', index: 0, tool: 'examples__echo', argumentsHash: h, source: 'steps', idempotent: true }),
          ev('TaskStepCompleted', stream, { stepId: 's0', resultHash: h, resultJson: '{"text":"hi"}', isError: false }),
          ev('TaskCompleted', stream, { output: { text: 'hi' } }),
        ];
        return store.append(stream, events);
      }),
    );
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

/** The baseline: insert the projector's final rows into fresh tables, 500 events' worth per transaction. */
async function baseline(knex: Knex, eventsCount: number): Promise<number> {
  const fresh: ReadModelTables = { ...LIVE_TABLES };
  const names = ['tasks', 'task-steps', 'audit-log'];
  for (const n of names) for (const k of projectionSchemas[n].tables) fresh[k] = `${LIVE_TABLES[k]}_base`;
  for (const n of names) await projectionSchemas[n].create(knex, fresh);
  const keys = names.flatMap((n) => projectionSchemas[n].tables);
  const rows = new Map<string, Record<string, unknown>[]>();
  for (const k of keys) rows.set(k, await knex(LIVE_TABLES[k]).select());
  const txns = Math.ceil(eventsCount / 500);
  const started = process.hrtime.bigint();
  for (let i = 0; i < txns; i++) {
    await knex.transaction(async (trx) => {
      for (const k of keys) {
        const all = rows.get(k)!;
        const per = Math.ceil(all.length / txns);
        const part = all.slice(i * per, (i + 1) * per);
        for (let j = 0; j < part.length; j += 200) await trx(fresh[k]).insert(part.slice(j, j + 200));
      }
    });
  }
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function throughput(url: string, tasks: number) {
  const knex = await openKnex(url);
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex);
  await appendTasks(store, tasks);
  const events = await readEverything(store);
  const projector = new Projector({ knex, bus: null as never });
  const t0 = process.hrtime.bigint();
  await projector.applyEvents(events);
  const projMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const baseMs = await baseline(knex, events.length);
  await store.close();
  await knex.destroy();
  return { events: events.length, projectorPerS: Math.round(events.length / (projMs / 1000)), baselinePerS: Math.round(events.length / (baseMs / 1000)), ratio: baseMs / projMs };
}

async function latency(url: string, cache: Cache, rate: number, seconds: number) {
  const knex = await openKnex(url);
  await migrateLatest(knex);
  // As `openmcp start` wires it: default poll interval, the bus checkpoint in SQL.
  const store = sqlEventStoreOn(knex);
  const projector = new Projector({ knex, bus: new InProcessBus(store, new SqlCheckpointStore(knex)), cache });
  await projector.start();
  const rm = new SqlReadModels({ knex, cache, applied: projector.applied });
  const samples: number[] = [];
  const afterAck: number[] = [];
  const total = rate * seconds;
  const jobs: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    jobs.push(
      (async () => {
        const t = performance.now();
        const stream = `task-${newId()}`;
        const r = await store.append(stream, [ev('TaskSubmitted', stream, { instruction: 'x' })]);
        const acked = performance.now();
        if (!(await rm.waitForPosition(r.position, 10_000))) throw new Error('not visible');
        const view = await rm.getTask('acme', stream.slice(5));
        if (!view) throw new Error('missing');
        samples.push(performance.now() - t);
        afterAck.push(performance.now() - acked);
      })(),
    );
  }
  await Promise.all(jobs);
  await projector.stop();
  await store.close();
  await knex.destroy();
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(1);
  // From before the append (submit → visible, the durable append included) and from its acknowledgement.
  return { commands: samples.length, rate, p50: q(samples, 0.5), p99: q(samples, 0.99), ackP50: q(afterAck, 0.5), ackP99: q(afterAck, 0.99) };
}

async function main() {
  const tasks = Number(process.env.BENCH_TASKS ?? 2000);
  const db = await createTestDatabase('omc_bench');
  const dir = mkdtempSync(join(tmpdir(), 'omc-bench-'));
  const prefix = redisTestPrefix('omc_bench');
  const redis = new RedisCache(new Redis(REDIS_TEST_URL), prefix.prefix);
  try {
    const t = await throughput(db.url, tasks);
    console.log(`projector throughput (MariaDB, ${t.events} events, batches of 500): ${t.projectorPerS} events/s; baseline plain batched inserts of the same rows: ${t.baselinePerS} events/s; ratio ${(t.ratio * 100).toFixed(0)}% (target >= 50%)`);
    const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
    for (let round = 1; round <= rounds; round++) {
      const db2 = await createTestDatabase('omc_bench');
      try {
        const l = await latency(db2.url, redis, 200, 5);
        console.log(`accepted -> visible, MariaDB + Redis, ${l.commands} commands at ${l.rate}/s: p50 ${l.p50} ms, p99 ${l.p99} ms; from the append's acknowledgement p50 ${l.ackP50} ms, p99 ${l.ackP99} ms (target p99 < 100 ms)`);
      } finally {
        await db2.drop();
      }
      const e = await latency(`sqlite:${join(dir, `e${round}.db`)}`, new MemoryCache(), 200, 5);
      console.log(`accepted -> visible, embedded (SQLite + memory), ${e.commands} commands at ${e.rate}/s: p50 ${e.p50} ms, p99 ${e.p99} ms; from the append's acknowledgement p50 ${e.ackP50} ms, p99 ${e.ackP99} ms (target p99 < 100 ms)`);
    }
  } finally {
    await redis.close();
    await prefix.drop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
