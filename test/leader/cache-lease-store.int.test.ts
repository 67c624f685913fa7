import { MemoryCache } from '../../src/cache/memory';
import type { Cache } from '../../src/cache/port';
import { openRedisCache } from '../../src/cache/redis';
import { CacheLeaseStore } from '../../src/leader';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { describeLeaseStore, type LeaseStoreFixture } from './lease-store.conformance';

// The fenced write under test: a Redis SET that happens only while the token is the newest.
function cacheFixture(cache: Cache, cleanup: () => Promise<void>): LeaseStoreFixture {
  const store = new CacheLeaseStore(cache);
  const log = new Map<string, string[]>();
  return {
    store,
    fencedWrite: async (lease, token, value) => {
      const ok = await store.setIfCurrent(lease, token, `probe:${lease}`, value);
      if (ok) log.set(lease, [...(log.get(lease) ?? []), (await cache.get(`probe:${lease}`))!]);
      return ok;
    },
    written: async (lease) => log.get(lease) ?? [],
    close: async () => {
      await cache.close();
      await cleanup();
    },
  };
}

describeLeaseStore('Redis', async (ctx) => {
  await requireService(ctx, 'Redis', redisAvailable);
  const p = redisTestPrefix('omc_leases');
  return cacheFixture(await openRedisCache(REDIS_TEST_URL, p.prefix), () => p.drop());
});

describeLeaseStore('in-memory cache', async () => cacheFixture(new MemoryCache(), async () => {}));
