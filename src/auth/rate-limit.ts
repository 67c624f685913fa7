import type { Cache } from '../cache/port';
import { MemoryCache } from '../cache/memory';
import { RateLimitedError } from './errors';
import type { Principal } from './principal';

export type RateLimiterOptions = {
  cache: Cache;
  perKeyPerMinute: number;
  perTenantPerMinute: number;
  /** Told when the shared counters fail (Redis down); this process then counts on its own. */
  onCacheError?: (err: unknown) => void;
};

export type RateLimiter = (p: Principal) => Promise<void>;

const WINDOW_MS = 60_000;
/** After a failure the shared counters are left alone this long (each try of a dead Redis waits out its retries). */
const BYPASS_MS = 5000;

/**
 * Fixed one-minute windows per key (or token subject) and per tenant, counted in the cache
 * (Redis across processes, in-memory in the embedded default). Throws RateLimitedError with the
 * seconds until the window resets. Both counters are hit, so a rejected request still counts
 * (a client hammering through a 429 does not get through faster).
 * When the cache fails (Redis down) the windows are counted in this process instead: the limits
 * then hold per process, and requests keep being answered rather than failing with a 500.
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  const local = new MemoryCache(10_000);
  let sharedDownUntil = 0;
  const count = async (p: Principal) => {
    const hits = (c: Cache) => Promise.all([c.hit(`rl:k:${p.subject}`, WINDOW_MS), c.hit(`rl:t:${p.tenant}`, WINDOW_MS)]);
    if (Date.now() < sharedDownUntil) return hits(local);
    try {
      return await hits(o.cache);
    } catch (err) {
      sharedDownUntil = Date.now() + BYPASS_MS;
      o.onCacheError?.(err);
      return hits(local);
    }
  };
  return async (p) => {
    const [key, tenant] = await count(p);
    if (key.count > o.perKeyPerMinute) throw new RateLimitedError('key', Math.max(1, Math.ceil(key.resetMs / 1000)));
    if (tenant.count > o.perTenantPerMinute) throw new RateLimitedError('tenant', Math.max(1, Math.ceil(tenant.resetMs / 1000)));
  };
}
