import { expect } from 'chai';
import { openRedisCache, REDIS_COMMAND_TIMEOUT_MS, type RedisCache } from '../../src/cache/redis';
import { CacheSkippedError, skipWhileDown } from '../../src/cache/skip-while-down';
import type { Cache } from '../../src/cache/port';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { describeCache } from './cache.conformance';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a command ended, and how long it took. */
async function outcome<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = Date.now();
  const r = await p.then((value) => ({ value }), (error: unknown) => ({ error }));
  return { ...r, ms: Date.now() - t0 };
}

describeCache('Redis behind skipWhileDown', async (ctx) => {
  await requireService(ctx, 'Redis', redisAvailable);
  const p = redisTestPrefix('omc_skip_conf');
  const redis = await openRedisCache(REDIS_TEST_URL, p.prefix);
  return { cache: skipWhileDown(redis), close: async () => (await redis.close(), await p.drop()) };
});

/**
 * Redis through a proxy whose link the test cuts (down: refused; freeze: connections open, no
 * replies), so the shared server keeps running for the other test files.
 */
describe('skipWhileDown: a failing or hung Redis is left alone for the window, then tried again', function () {
  this.timeout(30_000);
  // Long enough for a check made within the window (two commands after a failure) on a loaded machine.
  const SKIP_MS = 1000;
  let proxy: CutProxy;
  let redis: RedisCache;
  let cache: Cache;
  let errors: unknown[];
  const prefix = redisTestPrefix('omc_skip');

  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    const target = new URL(REDIS_TEST_URL);
    proxy = await cutProxy(target.hostname, Number(target.port || 6379));
    redis = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix);
  });
  beforeEach(async () => {
    await proxy.up();
    errors = [];
    cache = skipWhileDown(redis, { skipMs: SKIP_MS, onError: (err) => errors.push(err) });
    await cache.set('k', 'v');
  });
  after(async () => {
    await redis?.close();
    await proxy?.close();
    await prefix.drop();
  });

  it('Redis down: the failing command starts the window, the next ones are not sent, Redis is tried again after it', async () => {
    await proxy.down();
    const failed = await outcome(cache.get('k'));
    expect(failed.error).to.be.an('error').and.not.be.instanceOf(CacheSkippedError);
    expect(errors).to.have.length(1);

    // Within the window: refused at once without asking Redis, even once Redis is back.
    await proxy.up();
    const skipped = await outcome(cache.get('k'));
    expect(skipped.error).to.be.instanceOf(CacheSkippedError);
    expect((skipped.error as CacheSkippedError).code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(await outcome(cache.hit('c', 60_000))).to.have.property('error').that.is.instanceOf(CacheSkippedError);
    expect(errors, 'told once per window').to.have.length(1);

    await sleep(SKIP_MS + 100);
    expect(await cache.get('k')).to.equal('v');
    expect(errors).to.have.length(1);
  });

  it('Redis hung (connection open, no reply): one command waits out the command timeout, the next ones do not wait', async () => {
    proxy.freeze();
    const hung = await outcome(cache.get('k'));
    expect(hung.error).to.be.an('error').and.not.be.instanceOf(CacheSkippedError);
    expect(hung.ms).to.be.at.least(REDIS_COMMAND_TIMEOUT_MS - 100);
    expect(errors).to.have.length(1);

    const skipped = await outcome(cache.get('k'));
    expect(skipped.error).to.be.instanceOf(CacheSkippedError);
    expect(skipped.ms, 'answered without waiting on Redis').to.be.below(REDIS_COMMAND_TIMEOUT_MS / 2);

    await proxy.up();
    await sleep(SKIP_MS + 100);
    expect(await cache.get('k')).to.equal('v');
  });

  it('Redis still hung when the window ends: one command tries it again, the others made meanwhile are still skipped', async () => {
    // The previous test waits out the production command timeout; here two hung commands wait a shorter one.
    const timeoutMs = 600;
    const quick = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix, { commandTimeoutMs: timeoutMs });
    try {
      const c = skipWhileDown(quick, { skipMs: SKIP_MS, onError: (err) => errors.push(err) });
      expect(await c.get('k')).to.equal('v');
      proxy.freeze();
      const hung = await outcome(c.get('k'));
      expect(hung.ms, 'the first command waits out the timeout').to.be.at.least(timeoutMs - 100);
      await sleep(SKIP_MS + 100);
      const tries = await Promise.all(Array.from({ length: 10 }, () => outcome(c.get('k'))));
      const sent = tries.filter((t) => !(t.error instanceof CacheSkippedError));
      expect(sent, 'commands that reached Redis').to.have.length(1);
      expect(sent[0].error).to.be.an('error');
      expect(tries.filter((t) => t.error instanceof CacheSkippedError && t.ms < timeoutMs / 2)).to.have.length(9);
      expect(errors, 'told once per window').to.have.length(2);

      await proxy.up();
      await sleep(SKIP_MS + 100);
      expect(await c.get('k')).to.equal('v');
      expect(await Promise.all([c.get('k'), c.get('k')]), 'up again: nothing skipped').to.deep.equal(['v', 'v']);
    } finally {
      await quick.close();
    }
  });

  it('two commands failing together open one window and are told once', async () => {
    await proxy.down();
    const both = await Promise.all([outcome(cache.hit('a', 60_000)), outcome(cache.hit('b', 60_000))]);
    expect(both.map((r) => r.error instanceof Error)).to.deep.equal([true, true]);
    expect(errors).to.have.length(1);
  });
});

describe('openRedisCache: an outage is told once, not once per reconnect attempt', function () {
  this.timeout(30_000);
  const prefix = redisTestPrefix('omc_conn');

  it('lost once while ioredis retries, restored once when Redis answers again; nothing printed by ioredis', async function () {
    await requireService(this, 'Redis', redisAvailable);
    const target = new URL(REDIS_TEST_URL);
    const proxy = await cutProxy(target.hostname, Number(target.port || 6379));
    const lost: Error[] = [];
    let restored = 0;
    const printed: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    try {
      const redis = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix, {
        onLost: (err) => lost.push(err),
        onRestored: () => restored++,
      });
      await redis.set('k', 'v');
      await proxy.down();
      await sleep(2500); // ioredis reconnects every 50, 100, 150 … ms: several attempts fail meanwhile
      expect(lost, 'one report for the whole outage').to.have.length(1);
      expect(restored).to.equal(0);
      await proxy.up();
      for (let i = 0; i < 50 && restored === 0; i++) await sleep(100);
      expect(restored).to.equal(1);
      expect(await redis.get('k')).to.equal('v');
      await redis.close();
    } finally {
      console.error = consoleError;
      await proxy.close();
      await prefix.drop();
    }
    expect(printed.filter((l) => l.includes('ioredis')), 'ioredis printed its own "Unhandled error event" lines').to.deep.equal([]);
  });

  it('a Redis down at start is a failed open, not a lost connection', async () => {
    const proxy = await cutProxy('127.0.0.1', 1);
    await proxy.down();
    const lost: Error[] = [];
    const err = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, 'omc_never:', { onLost: (e) => lost.push(e) }).then(() => undefined, (e: Error) => e);
    await proxy.close();
    expect(err?.message).to.match(/cannot connect to redis:\/\/127\.0\.0\.1:\d+/);
    expect(lost).to.deep.equal([]);
  });
});
