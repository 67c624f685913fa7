import { expect } from 'chai';
import Redis from 'ioredis';
import { MemoryCache } from '../../src/cache/memory';
import { openRedisCache, RedisCache } from '../../src/cache/redis';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { describeCache } from './cache.conformance';

describeCache('Redis', async (ctx) => {
  await requireService(ctx, 'Redis', redisAvailable);
  const p = redisTestPrefix('omc_cache');
  const cache = await openRedisCache(REDIS_TEST_URL, p.prefix);
  return { cache, close: async () => (await cache.close(), await p.drop()) };
});

describeCache('in-memory', async () => {
  const cache = new MemoryCache();
  return { cache, close: () => cache.close() };
});

describe('Cache adapters: beyond the port', () => {
  it('Redis: two prefixes on one server do not see each other', async function () {
    await requireService(this, 'Redis', redisAvailable);
    const p1 = redisTestPrefix('omc_cache_a');
    const p2 = redisTestPrefix('omc_cache_b');
    const a = new RedisCache(new Redis(REDIS_TEST_URL), p1.prefix);
    const b = new RedisCache(new Redis(REDIS_TEST_URL), p2.prefix);
    try {
      await a.set('k', 'a');
      expect(await b.get('k')).to.equal(undefined);
      expect(await b.setIfAbsent('k', 'b')).to.equal(true);
      expect(await b.expire('k', 10_000)).to.equal(true);
      await b.del('k');
      expect(await a.get('k')).to.equal('a');
    } finally {
      await a.close();
      await b.close();
      await p1.drop();
      await p2.drop();
    }
  });

  it('in-memory: bounded, the least recently used entry goes first', async () => {
    const cache = new MemoryCache(3);
    for (const k of ['a', 'b', 'c']) await cache.set(k, k);
    await cache.get('a');
    await cache.set('d', 'd');
    expect(await cache.get('b')).to.equal(undefined);
    expect(await Promise.all(['a', 'c', 'd'].map((k) => cache.get(k)))).to.deep.equal(['a', 'c', 'd']);
  });
});
