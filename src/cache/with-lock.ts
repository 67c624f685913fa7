import type { Cache } from './port';

export type WithLockOptions = {
  /** How long the lock is held at most (its TTL: a crashed holder frees it then). */
  ttlMs: number;
  /** Wait between attempts to take a busy lock. */
  pollMs: number;
  /** Give up (throw `busy()`) after waiting this long. */
  waitMs: number;
  /** The error to throw when the lock stays busy. */
  busy(): Error;
};

/**
 * Run `fn` holding the cache lock `key` as `owner` (Redis across processes, in memory otherwise),
 * waiting for it while another owner holds it; released however `fn` ends.
 */
export async function withLock<T>(cache: Cache, key: string, owner: string, o: WithLockOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.waitMs;
  while (!(await cache.acquireLock(key, owner, o.ttlMs))) {
    if (Date.now() > deadline) throw o.busy();
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
  try {
    return await fn();
  } finally {
    await cache.releaseLock(key, owner);
  }
}
