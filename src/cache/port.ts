/**
 * Cache, rate-limit counters and locks. Adapters: Redis (ioredis) and in-memory (embedded default).
 * Values are strings; callers JSON-encode. Keys are given without the configured prefix.
 * Callers that can do without the cache (read cache, rate-limit counters) wrap it in
 * skipWhileDown (skip-while-down.ts), so an outage costs one failed command per window.
 */
export interface Cache {
  readonly name: string;
  get(key: string): Promise<string | undefined>;
  /** `ttlMs` omitted = no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Set `key` only if it holds nothing (Redis SET NX), atomically; true when this call wrote it. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Give an existing `key` a TTL of `ttlMs` from now, value untouched (Redis PEXPIRE); false when there is no such key. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Add 1 to the counter of the current fixed window of `windowMs` for `key` and return
   * the new count and the ms until the window resets (for rate limits and Retry-After).
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /** Take `key` for `ttlMs` if free (or already ours); true when `owner` holds it afterwards. */
  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Release `key` only if `owner` holds it. */
  releaseLock(key: string, owner: string): Promise<void>;
  /**
   * A lock with a fencing token (leader election): take `key` for `ttlMs` if free (or renew it if
   * `owner` holds it) and return the token, or undefined when another owner holds it. The token
   * grows by one on every new acquisition and is kept on renewal; release with `releaseLock`.
   */
  acquireLease(key: string, owner: string, ttlMs: number): Promise<number | undefined>;
  /** The newest token issued for lease `key` (0 when never taken). */
  leaseToken(key: string): Promise<number>;
  /**
   * Set `target` to `value` only if `token` is still the newest token of lease `key`, atomically:
   * the conditional write that refuses a deposed leader. False when fenced out.
   */
  setIfLeaseToken(key: string, token: number, target: string, value: string, ttlMs?: number): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * For a cache that can lose writes it acknowledged (Redis: a failover to a replica they had not
   * reached, a restart with AOF `everysec`): `listener` is told each time its connection is back
   * after being lost, when values written before may have been set back to older ones. Returns
   * the unsubscribe. Absent from a cache that never loses a write (the in-memory one).
   */
  onWritesMaybeLost?(listener: () => void): () => void;
}
