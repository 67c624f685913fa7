import { expect } from 'chai';
import Redis from 'ioredis';
import { MEMORY_CACHE_MAX_BYTES, MemoryCache } from '../../src/cache/memory';
import { openRedisCache, RedisCache } from '../../src/cache/redis';
import type { Cache } from '../../src/cache/port';
import { skipWhileDown } from '../../src/cache/skip-while-down';
import { UnavailableError } from '../../src/core/errors';
import { cutProxy } from '../support/cut-proxy';
import { freePort } from '../support/free-port';
import { redisServerInstalled, startRedisServer } from '../support/redis-server-process';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService, uniqueName } from '../support/services';
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

  it('Redis: tells when its connection is back after being lost (writes may be lost), through skipWhileDown too; not on its first connection or its close', async function () {
    await requireService(this, 'Redis', redisAvailable);
    const p = redisTestPrefix('omc_cache_lost');
    const name = uniqueName('omc_cache_lost');
    const redis = new Redis(REDIS_TEST_URL, { lazyConnect: true, connectionName: name });
    const killer = new Redis(REDIS_TEST_URL);
    const cache = new RedisCache(redis, p.prefix);
    let told = 0;
    const stop = skipWhileDown(cache).onWritesMaybeLost!(() => told++);
    try {
      await redis.connect();
      await cache.set('k', 'v');
      expect(told, 'on the first connection').to.equal(0);
      const back = new Promise<void>((r) => redis.once('ready', () => r()));
      // As Sentinel ends a failover: the server closes the connection, ioredis sees no error.
      const line = String(await killer.client('LIST')).split('\n').find((l) => l.includes(` name=${name} `))!;
      await killer.call('CLIENT', 'KILL', 'ID', line.match(/\bid=(\d+)/)![1]);
      await back;
      expect(told, 'once back').to.equal(1);
      stop();
      await cache.close();
      expect(told, 'after close').to.equal(1);
    } finally {
      redis.disconnect();
      killer.disconnect();
      await p.drop();
    }
    expect((new MemoryCache() as Cache).onWritesMaybeLost, 'the in-memory cache never loses a write').to.equal(undefined);
  });

  it("Redis: a start that Redis refuses fails naming Redis's reason (a wrong password, a database that does not exist), never on another database", async function () {
    await requireService(this, 'Redis', redisAvailable);
    const p = redisTestPrefix('omc_cache_refused');
    const url = (path: string, auth = '') => {
      const u = new URL(REDIS_TEST_URL);
      return `redis://${auth}${u.host}${path}`;
    };
    try {
      // ioredis connected anyway on a failed SELECT, on database 0: keys landed beside another deployment's.
      const err1 = await openRedisCache(url('/1000000'), p.prefix).then(
        async (c) => (await c.set('k', 'v'), await c.close(), undefined),
        (e: Error) => e,
      );
      expect(err1?.message, 'a database index the server does not have').to.match(/cannot connect to redis:\/\/.*\/1000000: .*DB index is out of range/);
      const db0 = new Redis(REDIS_TEST_URL);
      expect(await db0.get(`${p.prefix}k`).finally(() => db0.disconnect()), 'nothing written on database 0').to.equal(null);
      // Every refusal was "Connection is closed.": the operator could not tell a typo from an outage.
      const err2 = await openRedisCache(url('', 'omc-no-such-user:not-the-password@'), p.prefix).then(
        async (c) => (await c.close(), undefined),
        (e: Error) => e,
      );
      expect(err2?.message, 'credentials Redis refuses').to.match(/WRONGPASS/);
      expect(err2?.message, 'without the credentials').not.to.include('not-the-password');
      const port = await freePort();
      const err3 = await openRedisCache(`redis://127.0.0.1:${port}`, p.prefix).then(
        async (c) => (await c.close(), undefined),
        (e: Error) => e,
      );
      expect(err3?.message, 'nobody listening').to.match(/ECONNREFUSED/);
    } finally {
      await p.drop();
    }
  });

  it('Redis: ping while the server refuses connections fails at once with why (/readyz said "no answer in 1750 ms" of a Redis that was simply down)', async function () {
    await requireService(this, 'redis-server', redisServerInstalled);
    const server = await startRedisServer();
    let lost: Error | undefined;
    let cache: RedisCache | undefined;
    try {
      cache = await openRedisCache(server.url, 'omc_cache_ping:', { onLost: (err) => (lost = err) });
      await cache.ping();
      await server.stop();
      while (!lost) await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      const err = await cache.ping().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/ECONNREFUSED/);
      expect(Date.now() - started, 'without waiting out the retries').to.be.below(500);
    } finally {
      await cache?.close();
      await server.stop();
    }
  });

  it('Redis: a command that gets no answer (Redis down, hung, a replica since a failover) rejects with DEPENDENCY_UNAVAILABLE naming it; a script error or WRONGTYPE as before', async function () {
    // It was ioredis's bare error ("Reached the max retries per request limit", "Command timed
    // out"): an agent run took a Redis blip in its token-budget lock for the task's failure (TASK_ERROR).
    this.timeout(30_000);
    await requireService(this, 'redis-server', redisServerInstalled);
    const server = await startRedisServer();
    const proxy = await cutProxy('127.0.0.1', Number(new URL(server.url).port));
    const raw = new Redis(server.url);
    let cache: RedisCache | undefined;
    const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { code?: string }) => e);
    try {
      // 2 s: every command but the hung one must be answered within it, which a loaded machine can
      // take longer than 300 ms to do (this process's timers run before its sockets are read).
      cache = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, 'omc_cache_outage:', { commandTimeoutMs: 2_000, onLost: () => {} });

      // Redis answers with an error: not an outage (it would fail the same way every time).
      await cache.set('c:0', 'not a number');
      const script = await failure(cache.hit('c', 1e15)); // window 0: the counter key is `c:0`
      expect(script?.message, 'a script error').to.match(/not an integer/);
      expect(script).not.to.be.instanceOf(UnavailableError);
      await raw.lpush('omc_cache_outage:l', 'a');
      const wrongType = await failure(cache.get('l'));
      expect(wrongType?.message).to.match(/^WRONGTYPE/);
      expect(wrongType).not.to.be.instanceOf(UnavailableError);

      // Down (refused): the command fails once ioredis gives up reconnecting for it.
      await proxy.down();
      for (const [op, p] of [['get', cache.get('k')], ['acquireLock', cache.acquireLock('lock', 'me', 1000)]] as const) {
        const down = await failure(p);
        expect(down, op).to.be.instanceOf(UnavailableError);
        expect(down?.code).to.equal('DEPENDENCY_UNAVAILABLE');
        expect(down?.message).to.match(new RegExp(`^redis: ${op}: not connected \\(.*ECONNREFUSED`));
        expect(down?.cause).to.have.property('name', 'MaxRetriesPerRequestError');
      }

      // Hung (connection open, no reply): the command times out.
      await proxy.up();
      while ((await failure(cache.get('k'))) !== undefined) await new Promise((r) => setTimeout(r, 50));
      proxy.freeze();
      const hung = await failure(cache.set('k', 'v'));
      expect(hung).to.be.instanceOf(UnavailableError);
      expect(hung?.message).to.equal('redis: set: Command timed out');

      // A replica since a failover (its primary unreachable): writes refused with READONLY.
      await proxy.up();
      while ((await failure(cache.get('k'))) !== undefined) await new Promise((r) => setTimeout(r, 50));
      await raw.call('REPLICAOF', '127.0.0.1', String(await freePort()));
      const readonly = await failure(cache.setIfAbsent('k', 'v'));
      expect(readonly).to.be.instanceOf(UnavailableError);
      expect(readonly?.message).to.match(/^redis: setIfAbsent: READONLY/);
      const readonlyScript = await failure(cache.acquireLock('lock', 'me', 1000));
      expect(readonlyScript, 'a write in a script').to.be.instanceOf(UnavailableError);
    } finally {
      await cache?.close();
      raw.disconnect();
      await proxy.close();
      await server.stop();
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

  it('in-memory: bounded in bytes too, by default (cached tool results of a megabyte each once held 100 000 of them)', async () => {
    const cache = new MemoryCache();
    const mb = 'x'.repeat(1_000_000); // one string, so the test itself holds one megabyte
    for (let i = 0; i < 300; i++) await cache.set(`r${i}`, mb, 5_000);
    expect(await cache.get('r0'), 'the oldest went').to.equal(undefined);
    expect(await cache.get('r299'), 'the newest is kept').to.equal(mb);
    const kept = (await Promise.all(Array.from({ length: 300 }, (_, i) => cache.get(`r${i}`)))).filter((v) => v !== undefined).length;
    expect(2 * 1_000_000 * kept).to.be.at.most(MEMORY_CACHE_MAX_BYTES);
    // A value over a sixteenth of the bound is not kept, and does not leave an older one behind.
    const small = new MemoryCache(100, 160_000);
    await small.set('big', 'old');
    await small.set('big', 'y'.repeat(10_000));
    expect(await small.get('big')).to.equal(undefined);
  });

  it('in-memory: a held lock or lease is never evicted by other entries (a second owner would get it while the first still works)', async () => {
    const cache = new MemoryCache(2);
    expect(await cache.acquireLock('lock', 'a', 60_000)).to.equal(true);
    expect(await cache.acquireLease('lease', 'a', 60_000)).to.equal(1);
    for (let i = 0; i < 10; i++) await cache.set(`k${i}`, 'v');
    expect(await cache.acquireLock('lock', 'b', 60_000)).to.equal(false);
    expect(await cache.acquireLease('lease', 'b', 60_000)).to.equal(undefined);
    expect(await cache.get('lock')).to.equal('a');
    // Released or expired, they go as before.
    await cache.releaseLock('lock', 'a');
    expect(await cache.acquireLock('lock', 'b', 60_000)).to.equal(true);
    expect(await cache.acquireLock('short', 'a', 1)).to.equal(true);
    while (!(await cache.acquireLock('short', 'b', 60_000))) await new Promise((r) => setTimeout(r, 5));
  });
});
