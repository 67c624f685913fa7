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

/** Where a request left the tighter of its two windows: what the RateLimit-* headers of its answer say. */
export type RateLimitState = { limit: number; remaining: number; resetSeconds: number };

/** Counts a request; resolves the tighter window's state (a limiter given from outside may resolve nothing). */
export type RateLimiter = (p: Principal) => Promise<RateLimitState | void>;

/**
 * Fixed one-minute windows per key (or token subject) and per tenant, counted in the cache
 * (Redis across processes, in-memory in the embedded default; in this process while Redis is
 * down). Throws RateLimitedError with the seconds until the window resets. Both counters are
 * hit, so a rejected request still counts (a client hammering through a 429 does not get
 * through faster). Resolves the tighter window's limit, requests left and seconds to its reset,
 * which the REST answers send as RateLimit-Limit, -Remaining and -Reset.
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  const count = createWindowCounter(o.cache, o.onCacheError);
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
  return async (p) => {
    const [key, tenant] = await count([`rl:k:${p.subject}`, `rl:t:${p.tenant}`]);
    if (key.count > o.perKeyPerMinute) throw new RateLimitedError('key', seconds(key.resetMs), o.perKeyPerMinute);
    if (tenant.count > o.perTenantPerMinute) throw new RateLimitedError('tenant', seconds(tenant.resetMs), o.perTenantPerMinute);
    // The key's window unless the tenant's leaves fewer requests.
    const keyLeft = o.perKeyPerMinute - key.count;
    const tenantLeft = o.perTenantPerMinute - tenant.count;
    return tenantLeft < keyLeft
      ? { limit: o.perTenantPerMinute, remaining: tenantLeft, resetSeconds: seconds(tenant.resetMs) }
      : { limit: o.perKeyPerMinute, remaining: keyLeft, resetSeconds: seconds(key.resetMs) };
  };
}
