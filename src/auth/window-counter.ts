import type { Cache } from '../cache/port';
import { MemoryCache } from '../cache/memory';
import { skipWhileDown } from '../cache/skip-while-down';

/** Fixed windows of the rate limits: one minute. */
export const WINDOW_MS = 60_000;

export type WindowCounter = (keys: string[]) => Promise<{ count: number; resetMs: number }[]>;

/**
 * Hit the one-minute window of each key in the cache (Redis across processes, in-memory in the
 * embedded default). When the cache fails (Redis down) the windows are counted in this process
 * instead, and the shared counters are left alone for a while (skipWhileDown): the limits then
 * hold per process, and requests keep being answered rather than failing with a 500 or waiting
 * on a dead Redis.
 */
export function createWindowCounter(cache: Cache, onCacheError?: (err: unknown) => void): WindowCounter {
  const shared = skipWhileDown(cache, { onError: onCacheError });
  const local = new MemoryCache(10_000);
  // Run on every request: no async frame, and one closure fewer per call (tsx names each one it makes).
  const hits = (c: Cache, keys: string[]) => Promise.all(keys.map((k) => c.hit(k, WINDOW_MS)));
  return (keys) => hits(shared, keys).catch(() => hits(local, keys));
}
