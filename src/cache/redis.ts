import Redis from 'ioredis';
import { UnavailableError, redactUrl } from '../core/errors';
import type { Cache } from './port';

// Lock take/extend and release must compare the owner atomically, hence Lua.
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}`;

/** Redis adapter of the Cache port; every key is put under `prefix`. */
export class RedisCache implements Cache {
  readonly name = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(key: string): string {
    return this.prefix + key;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.k(key))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.redis.set(this.k(key), value);
    else await this.redis.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys.map((k) => this.k(k)));
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const now = Date.now();
    const windowKey = this.k(`${key}:${now - (now % windowMs)}`);
    const [count, pttl] = (await this.redis.eval(HIT, 1, windowKey, String(windowMs))) as [number, number];
    return { count, resetMs: pttl > 0 ? pttl : windowMs };
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, this.k(key), owner, String(Math.ceil(ttlMs)))) === 1;
  }

  async releaseLock(key: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.k(key), owner);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Connect to REDIS_URL; fails with a clear, credential-free message when Redis is unreachable. */
export async function openRedisCache(url: string, prefix: string): Promise<RedisCache> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new UnavailableError('redis', `cannot connect to ${redactUrl(url)}: ${(err as Error).message}`, err);
  }
  return new RedisCache(redis, prefix);
}
