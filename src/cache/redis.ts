import Redis from 'ioredis';
import { UnavailableError, redactUrl, redactUrlsIn } from '../core/errors';
import type { Cache } from './port';
import { toRedisCacheError } from './redis-errors';

// Lock take/extend and release must compare the owner atomically, hence Lua.
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// A lease is the lock key (value = owner) plus `<key>:token`, a counter that never expires.
const ACQUIRE_LEASE = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return tonumber(redis.call('GET', KEYS[2]) or '0') end
if v == false then local t = redis.call('INCR', KEYS[2]) redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return t end
return -1`;
const SET_IF_TOKEN = `if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.call('SET', KEYS[2], ARGV[2]) end
return 1`;
const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c}`;

/**
 * Redis adapter of the Cache port; every key is put under `prefix`. A command that gets no answer
 * over the connection (Redis down, restarting, hung, failing over) rejects with UnavailableError
 * (DEPENDENCY_UNAVAILABLE, ioredis's error as its cause), as the event stores report an outage;
 * any other error (a script's, WRONGTYPE, OOM) as ioredis gives it (redis-errors.ts).
 */
export class RedisCache implements Cache {
  readonly name = 'redis';
  private readonly restored = new Set<() => void>();
  /** Why the connection is down (the latest connection error), until it is ready again. */
  private lastError: Error | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    // 'close', not 'error': Sentinel ends a failover by closing the clients' connections (CLIENT
    // KILL), which ioredis sees without an error. Closes before the first connection lose nothing.
    let opened = redis.status === 'ready';
    let lost = false;
    redis.on('close', () => (lost ||= opened));
    redis.on('error', (err: Error) => (this.lastError = err));
    redis.on('ready', () => {
      this.lastError = undefined;
      opened = true;
      if (!lost) return;
      lost = false;
      for (const listener of this.restored) listener();
    });
  }

  onWritesMaybeLost(listener: () => void): () => void {
    this.restored.add(listener);
    return () => this.restored.delete(listener);
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  /** `reply`, or its failure as toRedisCacheError reports it. */
  private async send<T>(op: string, reply: Promise<T>): Promise<T> {
    try {
      return await reply;
    } catch (err) {
      throw toRedisCacheError(err, op, this.lastError);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.send('get', this.redis.get(this.k(key)))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.send('set', ttlMs === undefined ? this.redis.set(this.k(key), value) : this.redis.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.send('del', this.redis.del(...keys.map((k) => this.k(k))));
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const done = await this.send(
      'setIfAbsent',
      ttlMs === undefined ? this.redis.set(this.k(key), value, 'NX') : this.redis.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    return done === 'OK';
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    return (await this.send('expire', this.redis.pexpire(this.k(key), Math.max(1, Math.ceil(ttlMs))))) === 1;
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const now = Date.now();
    const windowStart = now - (now % windowMs);
    // The key lives a whole window from its first hit (so processes whose clocks differ a little
    // still count in it), but the window it counts ends at windowStart + windowMs: that is when
    // the count starts again, not the key's TTL (a first hit late in a window answered a
    // Retry-After of a whole window).
    const [count] = (await this.send('hit', this.redis.eval(HIT, 1, this.k(`${key}:${windowStart}`), String(windowMs)))) as [number];
    return { count, resetMs: windowStart + windowMs - now };
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.send('acquireLock', this.redis.eval(ACQUIRE, 1, this.k(key), owner, String(Math.ceil(ttlMs))))) === 1;
  }

  async releaseLock(key: string, owner: string): Promise<void> {
    await this.send('releaseLock', this.redis.eval(RELEASE, 1, this.k(key), owner));
  }

  async acquireLease(key: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const t = (await this.send('acquireLease', this.redis.eval(ACQUIRE_LEASE, 2, this.k(key), this.k(`${key}:token`), owner, String(Math.ceil(ttlMs))))) as number;
    return t >= 0 ? t : undefined;
  }

  async leaseToken(key: string): Promise<number> {
    return Number((await this.send('leaseToken', this.redis.get(this.k(`${key}:token`)))) ?? 0);
  }

  async setIfLeaseToken(key: string, token: number, target: string, value: string, ttlMs?: number): Promise<boolean> {
    const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
    return (await this.send('setIfLeaseToken', this.redis.eval(SET_IF_TOKEN, 2, this.k(`${key}:token`), this.k(target), String(token), value, ttl))) === 1;
  }

  async ping(): Promise<void> {
    // While reconnecting a PING would wait in ioredis's offline queue for its retries, and /readyz
    // would report "no answer" of a Redis that refuses connections: say why at once instead.
    if (this.redis.status !== 'ready' && this.lastError) throw new UnavailableError('redis', `ping: not connected: ${redactUrlsIn(this.lastError.message)}`, this.lastError);
    await this.send('ping', this.redis.ping());
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * Longest wait for one Redis reply. Without it a Redis that hangs with the connection open (a
 * stalled server, a proxy with nothing behind it) held every request that touched the cache
 * forever; with it the command fails, and the callers that can (read cache, rate limits) go on
 * without Redis. Every command here is O(1) or a short script.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/** What the Redis connection tells its owner: lost (once per outage, with the first error) and back. */
export type RedisConnectionEvents = {
  onLost?: (err: Error) => void;
  onRestored?: () => void;
  /** A command fails after this long without an answer (default REDIS_COMMAND_TIMEOUT_MS; tests of a hung Redis wait less). */
  commandTimeoutMs?: number;
};

/**
 * Connect to REDIS_URL; fails with a clear, credential-free message when Redis is unreachable.
 * Once connected, ioredis reconnects by itself; an outage is reported once through `events`
 * (by default one line on stderr), not once per reconnect attempt — ioredis prints every
 * attempt's error as "Unhandled error event" when nobody listens.
 */
export async function openRedisCache(url: string, prefix: string, events: RedisConnectionEvents = {}): Promise<RedisCache> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true, commandTimeout: events.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS });
  const onLost = events.onLost ?? ((err: Error) => console.error(`redis ${redactUrl(url)} unreachable (retrying): ${err.message}`));
  // Before the first connection nothing is lost: connect() below fails, with this error as its
  // reason (ioredis rejects with a bare "Connection is closed." after a refused AUTH or connect).
  let down = true;
  let refused: Error | undefined;
  let opened = false;
  redis.on('error', (err: Error) => {
    if (!opened) refused ??= err;
    if (down) return;
    down = true;
    onLost(err);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    if (opened) events.onRestored?.();
  });
  try {
    await redis.connect();
    // A failed SELECT (a database index the server lacks) does not fail connect(): ioredis would
    // go on on database 0, among another deployment's keys.
    if (refused) throw refused;
  } catch (err) {
    redis.disconnect();
    const reason = refused ?? (err as Error);
    throw new UnavailableError('redis', `cannot connect to ${redactUrl(url)}: ${redactUrlsIn(reason.message)}`, reason);
  }
  opened = true;
  down = false;
  return new RedisCache(redis, prefix);
}
