import type { Cache } from '../cache/port';
import { RateLimitedError } from './errors';
import type { Principal } from './principal';

export type RateLimiterOptions = { cache: Cache; perKeyPerMinute: number; perTenantPerMinute: number };

export type RateLimiter = (p: Principal) => Promise<void>;

const WINDOW_MS = 60_000;

/**
 * Fixed one-minute windows per key (or token subject) and per tenant, counted in the cache
 * (Redis across processes, in-memory in the embedded default). Throws RateLimitedError with the
 * seconds until the window resets. Both counters are hit, so a rejected request still counts
 * (a client hammering through a 429 does not get through faster).
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  return async (p) => {
    const [key, tenant] = await Promise.all([
      o.cache.hit(`rl:k:${p.subject}`, WINDOW_MS),
      o.cache.hit(`rl:t:${p.tenant}`, WINDOW_MS),
    ]);
    if (key.count > o.perKeyPerMinute) throw new RateLimitedError('key', Math.max(1, Math.ceil(key.resetMs / 1000)));
    if (tenant.count > o.perTenantPerMinute) throw new RateLimitedError('tenant', Math.max(1, Math.ceil(tenant.resetMs / 1000)));
  };
}
