import type { Cache } from '../cache/port';
import { MemoryCache } from '../cache/memory';

/** Fixed windows of the rate limits: one minute. */
export const WINDOW_MS = 60_000;
/** After a failure the shared counters are left alone this long (each try of a dead Redis waits out its retries). */
const BYPASS_MS = 5000;

export type WindowCounter = (keys: string[]) => Promise<{ count: number; resetMs: number }[]>;

/**
 * Hit the one-minute window of each key in the cache (Redis across processes, in-memory in the
 * embedded default). When the cache fails (Redis down) the windows are counted in this process
 * instead: the limits then hold per process, and requests keep being answered rather than
 * failing with a 500.
 */
export function createWindowCounter(cache: Cache, onCacheError?: (err: unknown) => void): WindowCounter {
  const local = new MemoryCache(10_000);
  let sharedDownUntil = 0;
  return async (keys) => {
    const hits = (c: Cache) => Promise.all(keys.map((k) => c.hit(k, WINDOW_MS)));
    if (Date.now() < sharedDownUntil) return hits(local);
    try {
      return await hits(cache);
    } catch (err) {
      sharedDownUntil = Date.now() + BYPASS_MS;
      onCacheError?.(err);
      return hits(local);
    }
  };
}
