import { LRUCache } from 'lru-cache';
import type { Cache } from '../cache/port';
import { clientNetwork } from './client-network';
import { RateLimitedError } from './errors';
import { createWindowCounter } from './window-counter';

export type AuthFailureLimiterOptions = {
  cache: Cache;
  /** Failed authentications one client address may make per minute before it is refused (429). */
  perAddressPerMinute: number;
  onCacheError?: (err: unknown) => void;
};

export type AuthFailureLimiter = {
  /** Throws RateLimitedError while `address` (its clientNetwork: an IPv6 address's /64) is refused. No I/O: a successful request pays one map lookup. */
  check(address: string): void;
  /** Count a failed authentication of `address`; throws RateLimitedError when it is one too many. */
  failed(address: string): Promise<void>;
};

/**
 * A brake on guessing credentials: each failed authentication (401) counts against the client
 * address's one-minute window in the cache (Redis across processes, so failures spread over
 * replicas add up); an IPv6 client is counted by its /64 (clientNetwork). Past the limit the address is refused until the window ends — before its
 * credential is hashed or looked up, so a guess that happens to be right tells nothing, and a
 * flood of bad keys costs no database lookups. Successful requests are never counted.
 * The refusal is remembered in this process (a bounded map): another replica learns it from the
 * shared counter at that address's next failure there.
 * @example const failures = createAuthFailureLimiter({ cache, perAddressPerMinute: 60 });
 */
export function createAuthFailureLimiter(o: AuthFailureLimiterOptions): AuthFailureLimiter {
  const count = createWindowCounter(o.cache, o.onCacheError);
  // Address → when its window ends. Bounded, so a flood from many addresses cannot grow memory.
  const refused = new LRUCache<string, number>({ max: 10_000 });
  const refusal = (until: number) => new RateLimitedError('address', Math.max(1, Math.ceil((until - Date.now()) / 1000)));
  return {
    check(address) {
      const network = clientNetwork(address);
      const until = refused.get(network);
      if (until === undefined) return;
      if (until > Date.now()) throw refusal(until);
      refused.delete(network);
    },
    async failed(address) {
      const network = clientNetwork(address);
      const [w] = await count([`rl:a:${network}`]);
      if (w.count <= o.perAddressPerMinute) return;
      const until = Date.now() + w.resetMs;
      refused.set(network, until);
      throw refusal(until);
    },
  };
}
