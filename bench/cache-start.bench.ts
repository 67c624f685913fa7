/**
 * What a projector's start costs the read cache: it raises the cache epoch (Projector.retireOnStart),
 * so every view is read once more from SQL. On MariaDB + Redis, BENCH_TASKS tasks (default 2000,
 * 5 events each) are projected with their views cached; then each is read through SqlReadModels
 * warm (every read a hit: the baseline), after a projector's start (every read a miss, filled
 * from SQL), and warm again, by BENCH_CONCURRENCY readers (default 8), BENCH_ROUNDS times
 * (default 3). Prints the start itself (the raise under the write lock) and each pass against
 * the warm one of the same round.
 * Run: npx tsx bench/cache-start.bench.ts   (needs MariaDB on 127.0.0.1:3306 and Redis on 6379)
 */
import Redis from 'ioredis';
import { migrateLatest } from '../migrations';
import { RedisCache } from '../src/cache/redis';
import { createEvent, type PendingEvent, type RecordedEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import type { Bus } from '../src/bus/port';
import { sqlEventStoreOn } from '../src/eventstore/sql';
import { Projector } from '../src/projector/projector';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { createTestDatabase, REDIS_TEST_URL, redisTestPrefix } from '../test/support/services';
import { printTable } from './stats';

const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const actor = { kind: 'user' as const, id: 'bench' };
const h = `0x${'1'.repeat(64)}`;
const ev = (type: string, stream: string, data: Record<string, unknown>) => createEvent({ type, stream, tenant: 'acme', actor, data });
/** A bus that delivers nothing: the start is measured, not the feed. */
const idleBus = { name: 'idle', consume: async () => ({ stop: async () => {} }), close: async () => {} } as unknown as Bus;

async function main(): Promise<void> {
  const db = await createTestDatabase('omc_bench_cstart');
  const prefix = redisTestPrefix('omc_bench_cstart');
  const knex = await openKnex(db.url);
  const redis = new Redis(REDIS_TEST_URL);
  try {
    await migrateLatest(knex);
    const store = sqlEventStoreOn(knex);
    const ids: string[] = [];
    const events: RecordedEvent[] = [];
    for (let from = 0; from < TASKS; from += 200) {
      const appended = await Promise.all(
        Array.from({ length: Math.min(200, TASKS - from) }, () => {
          const stream = `task-${newId()}`;
          ids.push(stream.slice(5));
          const batch: PendingEvent[] = [
            ev('TaskSubmitted', stream, { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] }),
            ev('TaskStarted', stream, {}),
            ev('TaskStepStarted', stream, { stepId: 's0', index: 0, tool: 'examples__echo', argumentsHash: h, source: 'steps', idempotent: true }),
            ev('TaskStepCompleted', stream, { stepId: 's0', resultHash: h, resultJson: '{"text":"hi"}', isError: false }),
            ev('TaskCompleted', stream, { output: { text: 'hi' } }),
          ];
          return store.append(stream, batch);
        }),
      );
      events.push(...appended.flatMap((r) => r.events as RecordedEvent[]));
    }
    const cache = new RedisCache(redis, prefix.prefix);
    // Projected as the live projector does, each view written to Redis after its commit.
    await new Projector({ knex, bus: idleBus, cache }).applyEvents(events.sort((a, b) => a.position - b.position));
    const rm = new SqlReadModels({ knex, cache });

    const readAll = async () => {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) {
            const id = ids[next++];
            if (!(await rm.getTask('acme', id))) throw new Error(`task ${id} missing`);
          }
        }),
      );
      return performance.now() - t0;
    };

    const rows: Record<string, string | number>[] = [];
    await readAll(); // every view read once before the first measured pass
    for (let round = 1; round <= ROUNDS; round++) {
      const warm = await readAll();
      const projector = new Projector({ knex, bus: idleBus, cache });
      const t0 = performance.now();
      await projector.start();
      const startMs = performance.now() - t0;
      await projector.stop();
      const cold = await readAll();
      const warmAgain = await readAll();
      const row = (pass: string, ms: number) => ({ round, pass, reads: ids.length, 'total ms': ms, 'ms/read': ms / ids.length, 'vs warm': ms / warm });
      rows.push(row('warm (hits)', warm), { round, pass: 'projector start (epoch raise)', reads: 0, 'total ms': startMs, 'ms/read': 0, 'vs warm': 0 }, row('after the start (misses)', cold), row('warm again', warmAgain));
    }
    printTable(rows);
    const extra = rows.filter((r) => r.pass === 'after the start (misses)').map((r, i) => Number(r['total ms']) - Number(rows.filter((x) => x.pass === 'warm (hits)')[i]['total ms']));
    console.log(`extra SQL time for one cold pass over ${ids.length} views, per round (ms): ${extra.map((x) => x.toFixed(0)).join(', ')}`);
    await store.close();
  } finally {
    redis.disconnect();
    await prefix.drop();
    await knex.destroy();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
