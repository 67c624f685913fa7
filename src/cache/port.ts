/**
 * Cache, rate-limit counters and locks. Adapters: Redis (ioredis) and in-memory (embedded default).
 * Values are strings; callers JSON-encode. Keys are given without the configured prefix.
 */
export interface Cache {
  readonly name: string;
  get(key: string): Promise<string | undefined>;
  /** `ttlMs` omitted = no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /**
   * Add 1 to the counter of the current fixed window of `windowMs` for `key` and return
   * the new count and the ms until the window resets (for rate limits and Retry-After).
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /** Take `key` for `ttlMs` if free (or already ours); true when `owner` holds it afterwards. */
  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Release `key` only if `owner` holds it. */
  releaseLock(key: string, owner: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
