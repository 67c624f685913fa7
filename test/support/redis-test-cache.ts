import Redis from 'ioredis';
import { openRedisCache, type RedisCache } from '../../src/cache/redis';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from './services';

/**
 * A RedisCache under a key prefix of its own for each test of the enclosing describe (mocha hooks:
 * call it inside `describe`), dropped after each test; `release` runs first (stop what uses the
 * cache). `everything()` reads what the test left under its prefix, whatever each key's type.
 */
export function useRedisTestCache(name: string, release?: () => Promise<void>) {
  let prefix: ReturnType<typeof redisTestPrefix> | undefined;
  let cache: RedisCache | undefined;
  let redis: Redis | undefined;
  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(async () => {
    prefix = redisTestPrefix(name);
    cache = await openRedisCache(REDIS_TEST_URL, prefix.prefix);
  });
  afterEach(async () => {
    await release?.();
    await cache?.close();
    await prefix?.drop();
  });
  after(() => redis?.disconnect());

  return {
    get cache(): RedisCache {
      return cache!;
    },
    /** A plain client on the same server, to look at keys (with `prefix`). */
    get redis(): Redis {
      return redis!;
    },
    get prefix(): string {
      return prefix!.prefix;
    },
    /** Every key under this test's prefix with what it holds (JSON of a string, hash, list, set or sorted set). */
    async everything(): Promise<Record<string, string>> {
      const r = redis!;
      const out: Record<string, string> = {};
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix!.prefix}*`, 'COUNT', 500);
        cursor = next;
        for (const k of keys) {
          const type = await r.type(k);
          const value =
            type === 'string' ? await r.get(k)
            : type === 'hash' ? await r.hgetall(k)
            : type === 'list' ? await r.lrange(k, 0, -1)
            : type === 'set' ? await r.smembers(k)
            : type === 'zset' ? await r.zrange(k, 0, -1)
            : `(${type})`;
          out[k] = JSON.stringify(value);
        }
      } while (cursor !== '0');
      return out;
    },
  };
}
