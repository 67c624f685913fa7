/**
 * Scale-out of the read side (issue 9): 1, 2 and 3 projector processes in one Kafka consumer
 * group, in one run. The pipeline is the production one, each part its own process: appends to
 * the SQL event store on MariaDB (this process) → relay process → the Kafka test broker process
 * (6 partitions, keyed by stream) → N projector processes → read models on MariaDB (+ Redis cache).
 * Run: npx tsx bench/scale.bench.ts   (needs MariaDB on 127.0.0.1:3306 and Redis on 6379)
 * BENCH_RATE (default 100 commands/s) × BENCH_SECONDS (default 5) sizes the latency phase;
 * BENCH_TASKS (default 1000 tasks of 5 events) the throughput phase; BENCH_ROUNDS (default 1)
 * repeats the 1-2-3 sequence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Knex } from 'knex';
import { migrateLatest } from '../migrations';
import { createEvent, type PendingEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import { sqlEventStoreOn } from '../src/eventstore/sql';
import type { EventStore } from '../src/eventstore/port';
import { LIVE_TABLES } from '../projections/tables';
import { startBrokerProcess } from '../test/support/kafka-broker/process';
import { createTestDatabase, REDIS_TEST_URL, redisTestPrefix } from '../test/support/services';
import { printTable, summarize } from './stats';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const TASKS = Number(process.env.BENCH_TASKS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const ROLE = join(__dirname, 'support', 'scale-role.ts');
const actor = { kind: 'user' as const, id: 'bench' };
const h = `0x${'1'.repeat(64)}`;
const ev = (type: string, stream: string, data: Record<string, unknown>) => createEvent({ type, stream, tenant: 'acme', actor, data });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startRole(role: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), ROLE, role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // kafkajs logs every rebalance at ERROR level: kept, shown only if the role dies.
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${role} exited early (${code}): ${err}`)));
    createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve(child));
  });
}

function stopRole(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** One query per 5 ms for every id still pending: when each becomes visible in rm_tasks (with `status`, if given). */
function visibilityWatcher(knex: Knex, status?: string) {
  const pending = new Map<string, (t: number) => void>();
  let running = true;
  const loop = (async () => {
    while (running) {
      if (pending.size) {
        const ids = [...pending.keys()];
        const q = knex(LIVE_TABLES.tasks).whereIn('id', ids).select('id');
        const rows = (await (status ? q.where('status', status) : q)) as { id: string }[];
        const now = performance.now();
        for (const r of rows) {
          pending.get(r.id)?.(now);
          pending.delete(r.id);
        }
      }
      await sleep(5);
    }
  })();
  return {
    wait: (id: string) => new Promise<number>((resolve) => pending.set(id, resolve)),
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function latencyPhase(store: EventStore, knex: Knex) {
  const watch = visibilityWatcher(knex);
  const fromStart: number[] = [];
  const fromAck: number[] = [];
  const all: Promise<void>[] = [];
  const total = RATE * SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    all.push(
      (async () => {
        const id = newId();
        const stream = `task-${id}`;
        const visible = watch.wait(id);
        const start = performance.now();
        await store.append(stream, [ev('TaskSubmitted', stream, { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] })]);
        const ack = performance.now();
        const seen = await visible;
        fromStart.push(seen - start);
        fromAck.push(Math.max(0, seen - ack));
      })(),
    );
  }
  await Promise.all(all);
  await watch.stop();
  return { start: summarize(fromStart), ack: summarize(fromAck) };
}

async function throughputPhase(store: EventStore, knex: Knex) {
  const ids: string[] = [];
  const t0 = performance.now();
  for (let from = 0; from < TASKS; from += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, TASKS - from) }, () => {
        const id = newId();
        ids.push(id);
        const stream = `task-${id}`;
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
  const appended = performance.now();
  for (;;) {
    const [{ n }] = (await knex(LIVE_TABLES.tasks).where('status', 'completed').count({ n: '*' })) as { n: number }[];
    if (Number(n) >= TASKS) break;
    await sleep(20);
  }
  const done = performance.now();
  return { appendS: (appended - t0) / 1000, totalS: (done - t0) / 1000 };
}

async function runWith(projectors: number, brokers: string[]) {
  const db = await createTestDatabase('omc_scale_bench');
  const redis = redisTestPrefix('omc_scale_bench');
  const knex = await openKnex(db.url);
  const children: ChildProcess[] = [];
  try {
    await migrateLatest(knex);
    const store = sqlEventStoreOn(knex);
    const env = { BENCH_DB: db.url, BENCH_BROKERS: brokers.join(','), BENCH_TOPIC: `${db.name}.events.v1`, BENCH_GROUP: `${db.name}-projector`, BENCH_REDIS: REDIS_TEST_URL, BENCH_PREFIX: redis.prefix };
    children.push(await startRole('relay', env));
    for (let i = 0; i < projectors; i++) children.push(await startRole('projector', env));
    // Let the group settle (each join rebalances it; the test broker has no DescribeGroups to ask),
    // then warm up on enough streams to reach every partition.
    await sleep(4_000 + 2_000 * projectors);
    const warm = visibilityWatcher(knex);
    await Promise.all(
      Array.from({ length: 60 }, async () => {
        const id = newId();
        const v = warm.wait(id);
        await store.append(`task-${id}`, [ev('TaskSubmitted', `task-${id}`, {})]);
        await v;
      }),
    );
    await warm.stop();
    const latency = await latencyPhase(store, knex);
    const tp = await throughputPhase(store, knex);
    return { latency, tp };
  } finally {
    await Promise.all(children.map(stopRole));
    await knex.destroy();
    await db.drop();
    await redis.drop();
  }
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess();
  const rows: Record<string, string | number>[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of [1, 2, 3]) {
        const r = await runWith(n, broker.brokers);
        rows.push({
          round,
          projectors: n,
          [`p50 ms @${RATE}/s`]: r.latency.start.p50,
          'p99 ms': r.latency.start.p99,
          'p50/p99 from ack': `${r.latency.ack.p50.toFixed(1)} / ${r.latency.ack.p99.toFixed(1)}`,
          'tasks/s end to end': TASKS / r.tp.totalS,
          'events/s': (TASKS * 5) / r.tp.totalS,
          'append-only tasks/s': TASKS / r.tp.appendS,
        });
        console.log(JSON.stringify(rows.at(-1)));
      }
    }
  } finally {
    await broker.stop();
  }
  printTable(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
