/**
 * Where leases live. Adapters: SQL (the `leases` table, MySQL/MariaDB or SQLite) and the Cache
 * port (Redis, or in memory for a single process).
 *
 * Contract, checked for every adapter by test/leader/lease-store.conformance.ts:
 * - at most one holder per lease at a time, until its TTL runs out;
 * - `acquire` by the holder renews and keeps the token; every new acquisition (another holder,
 *   or the same one after expiry) gets a token greater than every token issued before;
 * - `currentToken` is the newest token issued (0 before the first), even after expiry or release.
 */
export interface LeaseStore {
  readonly name: string;
  /** Take or renew `lease` for `holder` for `ttlMs`; the fencing token, or undefined when another holds it. */
  acquire(lease: string, holder: string, ttlMs: number): Promise<number | undefined>;
  /** Let go of `lease` if `holder` still holds it, so a standby can take it at once. */
  release(lease: string, holder: string): Promise<void>;
  /** The newest token issued for `lease` (0 when never taken). */
  currentToken(lease: string): Promise<number>;
}
