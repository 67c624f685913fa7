import { UnavailableError } from '../core/errors';
import type { Cache } from './port';

/**
 * After a failure the cache is left alone this long: each command to an unreachable Redis waits
 * out the client's retries (about half a second), to a hung one its command timeout
 * (REDIS_COMMAND_TIMEOUT_MS), which every request that uses the cache would pay.
 */
export const CACHE_SKIP_MS = 5000;

export type SkipWhileDownOptions = {
  /** How long to skip the cache after a failure (default CACHE_SKIP_MS). */
  skipMs?: number;
  /** Told of the failure that starts a skip window (once per window, not of each command failing within it). */
  onError?: (err: unknown) => void;
};

/** A command not sent: the cache failed less than `skipMs` ago. */
export class CacheSkippedError extends UnavailableError {
  /** `untilMs` undefined: the window is over and one command is trying the cache again. */
  constructor(cache: string, untilMs?: number) {
    super(cache, untilMs === undefined ? 'left alone after a failure while one command tries it again' : `left alone for ${Math.max(0, untilMs - Date.now())} ms more after a failure`);
  }
}

/** A Cache that says whether its commands are being skipped now (to spare work done only for it). */
export type SkippingCache = Cache & { readonly skipping: boolean };

/**
 * The cache for callers that can do without it (a read cache in front of SQL, rate-limit counters
 * with an in-process fallback): after a command fails, every command rejects at once with
 * CacheSkippedError for `skipMs`, instead of waiting on a Redis that is down or hung. Then one
 * command tries Redis again while the others are still skipped: its success ends the skipping,
 * its failure opens the next window (so a hung Redis costs one command timeout per window, not
 * one per request made meanwhile). Callers catch the rejection and take their fallback.
 * Commands already in flight when the window opens still run to their end. `close` is never skipped.
 * @example const cache = skipWhileDown(redis, { onError: (err) => log.warn({ err }, 'cache unreachable') });
 */
export function skipWhileDown(cache: Cache, o: SkipWhileDownOptions = {}): SkippingCache {
  const skipMs = o.skipMs ?? CACHE_SKIP_MS;
  let downUntil = 0; // 0: up; else the end of the current or last window
  let retrying = false; // the one command trying the cache again after a window is in flight
  const failed = (err: unknown): never => {
    // Two commands failing together (a rate limit hits two counters) open one window, told once.
    const wasUp = Date.now() >= downUntil;
    downUntil = Date.now() + skipMs;
    if (wasUp) o.onError?.(err);
    throw err;
  };
  const retryOnce = async <T>(command: () => Promise<T>): Promise<T> => {
    retrying = true;
    try {
      const result = await command();
      downUntil = 0;
      return result;
    } catch (err) {
      return failed(err);
    } finally {
      retrying = false;
    }
  };
  const run = <T>(command: () => Promise<T>): Promise<T> => {
    if (downUntil !== 0) {
      if (Date.now() < downUntil) return Promise.reject(new CacheSkippedError(cache.name, downUntil));
      if (retrying) return Promise.reject(new CacheSkippedError(cache.name));
      return retryOnce(command);
    }
    // Up (every command of a healthy cache, on every request): no async frame of its own.
    let sent: Promise<T>;
    try {
      sent = command();
    } catch (err) {
      // Thrown in the call: the window opens now, as in an async run, before the next command of this turn.
      try {
        return failed(err);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Promise.resolve: `sent` itself when a promise (every Cache's), a value or thenable adopted as `await` would.
    return Promise.resolve(sent).catch(failed);
  };
  return {
    name: cache.name,
    get skipping() {
      return Date.now() < downUntil || retrying;
    },
    get: (key) => run(() => cache.get(key)),
    set: (key, value, ttlMs) => run(() => cache.set(key, value, ttlMs)),
    del: (...keys) => run(() => cache.del(...keys)),
    setIfAbsent: (key, value, ttlMs) => run(() => cache.setIfAbsent(key, value, ttlMs)),
    expire: (key, ttlMs) => run(() => cache.expire(key, ttlMs)),
    hit: (key, windowMs) => run(() => cache.hit(key, windowMs)),
    acquireLock: (key, owner, ttlMs) => run(() => cache.acquireLock(key, owner, ttlMs)),
    releaseLock: (key, owner) => run(() => cache.releaseLock(key, owner)),
    acquireLease: (key, owner, ttlMs) => run(() => cache.acquireLease(key, owner, ttlMs)),
    leaseToken: (key) => run(() => cache.leaseToken(key)),
    setIfLeaseToken: (key, token, target, value, ttlMs) => run(() => cache.setIfLeaseToken(key, token, target, value, ttlMs)),
    ping: () => run(() => cache.ping()),
    close: () => cache.close(),
    onWritesMaybeLost: cache.onWritesMaybeLost && ((listener) => cache.onWritesMaybeLost!(listener)),
  };
}
