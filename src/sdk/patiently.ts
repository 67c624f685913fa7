import { RateLimitedApiError } from './errors';

/** Times a request refused 429 is asked again, each after the server's Retry-After (else 5 s, at most 60 s). */
const RATE_LIMITED_ATTEMPTS = 20;

/**
 * `fn()`, asked again while the server answers 429 (past the SDK's own few retries): one request
 * per task and tool call of a busy subject runs into the key's per-minute limit, and an export
 * must not stop halfway for it. `sleep` waits the Retry-After (tests pass one that does not wait).
 * @example const page = await patiently(() => client.events.list({ limit: 1000 }), sleep)
 */
export async function patiently<T>(fn: () => Promise<T>, sleep: (ms: number) => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RateLimitedApiError) || attempt >= RATE_LIMITED_ATTEMPTS) throw err;
      await sleep(Math.min(60, err.retryAfterSeconds ?? 5) * 1000);
    }
  }
}
