import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisCache } from '../../src/cache/redis';
import type { Cache } from '../../src/cache/port';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Projector } from '../../src/projector/projector';
import { rebuildProjection } from '../../src/cli/projections';
import { taskCacheKey } from '../../src/readmodels/cache-keys';
import { readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { mysqlAvailable, redisAvailable, redisTestPrefix, REDIS_TEST_URL, requireService } from '../support/services';
import { openTestDb, type TestDb } from './support';

/** A cache whose next `set` of `key` stalls until `release` (a slow network, a GC pause) and says when it started. */
function stallingSetOf(inner: Cache, key: string) {
  let entered!: () => void;
  let release!: () => void;
  const started = new Promise<void>((r) => (entered = r));
  const gate = new Promise<void>((r) => (release = r));
  let armed = true;
  const cache = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'set') return Reflect.get(target, prop, receiver);
      return async (k: string, value: string, ttlMs?: number) => {
        if (armed && k === key) {
          armed = false;
          entered();
          await gate;
        }
        return target.set(k, value, ttlMs);
      };
    },
  });
  return { cache, started, release };
}

/**
 * Two projectors on one database and one Redis: two processes with the in-process bus (every
 * replica projects every event), or Kafka group members around a rebalance. Each rewrites the
 * cached view it read after its commit; the cache must end with the newest view whatever the
 * interleaving.
 */
describe('two projectors sharing a database and a Redis cache', function () {
  this.timeout(30_000);
  let db: TestDb;
  let redis: Redis;
  const prefix = redisTestPrefix('omc_two_proj');
  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    await requireService(this, 'Redis', redisAvailable);
    db = await openTestDb('mysql');
    redis = new Redis(REDIS_TEST_URL);
  });
  after(async () => {
    redis?.disconnect();
    await prefix.drop();
    await db?.close();
  });

  it("a slower projector's refresh never overwrites a newer view with the older one it read", async () => {
    const cache = new RedisCache(redis, prefix.prefix);
    const stream = `task-${newId()}`;
    const ev = (type: string, data: Record<string, unknown> = {}) => createEvent({ type, stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data });
    const [submitted, started, completed] = (await db.store.append(stream, [ev('TaskSubmitted', { instruction: 'x' }), ev('TaskStarted'), ev('TaskCompleted', { output: 1 })])).events as RecordedEvent[];
    const key = taskCacheKey(await readCacheEpoch(db.knex), stream.slice(5));
    const slow = stallingSetOf(cache, key);
    const a = new Projector({ knex: db.knex, bus: null as never, cache, lockHoldMs: 0 });
    const b = new Projector({ knex: db.knex, bus: null as never, cache: slow.cache, lockHoldMs: 0 });
    await a.applyEvents([submitted]);

    // B applies up to TaskStarted and has read the view ("running") when its cache write stalls.
    const bDone = b.applyEvents([submitted, started]);
    await slow.started;
    // A applies TaskCompleted meanwhile, and B's write lands only afterwards.
    const aDone = a.applyEvents([started, completed]);
    await new Promise((r) => setTimeout(r, 300));
    slow.release();
    await Promise.all([aDone, bDone]);

    expect(JSON.parse((await cache.get(key))!).status).to.equal('completed');
  });

  it('a rebuild beside the live projector retires the views cached before it, and the newest view is read', async () => {
    const cache = new RedisCache(redis, prefix.prefix);
    const stream = `task-${newId()}`;
    const ev = (type: string, data: Record<string, unknown> = {}) => createEvent({ type, stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data });
    const first = (await db.store.append(stream, [ev('TaskSubmitted', { instruction: 'x' }), ev('TaskStarted')])).events as RecordedEvent[];
    const live = new Projector({ knex: db.knex, bus: null as never, cache, lockHoldMs: 0 });
    await live.applyEvents(first);
    const epoch = await readCacheEpoch(db.knex);
    expect(JSON.parse((await cache.get(taskCacheKey(epoch, stream.slice(5))))!).status).to.equal('running');

    const rebuilt = rebuildProjection({ knex: db.knex, store: db.store }, 'tasks');
    const last = (await db.store.append(stream, [ev('TaskCompleted', { output: 1 })])).events as RecordedEvent[];
    await Promise.all([rebuilt, live.applyEvents(last)]);

    expect(await readCacheEpoch(db.knex)).to.equal(epoch + 1);
    const rm = new SqlReadModels({ knex: db.knex, cache });
    expect((await rm.getTask('acme', stream.slice(5)))!.status).to.equal('completed');
  });
});
