import type { Cache } from '../cache/port';
import { RateLimitedError } from './errors';
import type { Principal } from './principal';
import { createWindowCounter } from './window-counter';

export type RateLimiterOptions = {
  cache: Cache;
  perKeyPerMinute: number;
  perTenantPerMinute: number;
  /** Told when the shared counters fail (Redis down); this process then counts on its own. */
  onCacheError?: (err: unknown) => void;
};

export type RateLimiter = (p: Principal) => Promise<void>;

/**
 * Fixed one-minute windows per key (or token subject) and per tenant, counted in the cache
 * (Redis across processes, in-memory in the embedded default; in this process while Redis is
 * down). Throws RateLimitedError with the seconds until the window resets. Both counters are
 * hit, so a rejected request still counts (a client hammering through a 429 does not get
 * through faster).
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  const count = createWindowCounter(o.cache, o.onCacheError);
  return async (p) => {
    const [key, tenant] = await count([`rl:k:${p.subject}`, `rl:t:${p.tenant}`]);
    if (key.count > o.perKeyPerMinute) throw new RateLimitedError('key', Math.max(1, Math.ceil(key.resetMs / 1000)));
    if (tenant.count > o.perTenantPerMinute) throw new RateLimitedError('tenant', Math.max(1, Math.ceil(tenant.resetMs / 1000)));
  };
}
