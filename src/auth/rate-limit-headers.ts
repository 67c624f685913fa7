import { RateLimitedError } from './errors';
import type { RateLimitState } from './rate-limit';

/**
 * The `RateLimit-Limit`, `-Remaining` and `-Reset` headers of an answer to a known key, on /v1,
 * /mcp and /ui/api alike: from the window state its request left (what the limiter resolved), or
 * from the RateLimitedError that refused it (none left; reset when Retry-After says). None for a
 * 429 for failed authentications from an address (no key known), nor when the limiter resolved nothing.
 * @example rateLimitHeaders({ limit: 600, remaining: 599, resetSeconds: 60 })['ratelimit-remaining'] === '599'
 */
export function rateLimitHeaders(of: RateLimitState | RateLimitedError | void | undefined): Record<string, string> {
  if (!of) return {};
  if (of instanceof RateLimitedError) {
    if (of.scope === 'address') return {};
    return { ...(of.limit !== undefined ? { 'ratelimit-limit': String(of.limit) } : {}), 'ratelimit-remaining': '0', 'ratelimit-reset': String(of.retryAfterSeconds) };
  }
  return { 'ratelimit-limit': String(of.limit), 'ratelimit-remaining': String(of.remaining), 'ratelimit-reset': String(of.resetSeconds) };
}
