import type { Cache } from '../cache/port';
import type { LeaseStore } from './lease-store';

/**
 * Leases on the Cache port: Redis across processes (REDIS_URL), or in memory for one process.
 * Keys are `lease:<name>` (holder, with the TTL) and `lease:<name>:token` (the fencing counter).
 * @example const leases = new CacheLeaseStore(cache); await leases.acquire('anchorer', me, 10_000)
 */
export class CacheLeaseStore implements LeaseStore {
  readonly name: string;

  constructor(private readonly cache: Cache) {
    this.name = cache.name;
  }

  private key(lease: string): string {
    return `lease:${lease}`;
  }

  acquire(lease: string, holder: string, ttlMs: number): Promise<number | undefined> {
    return this.cache.acquireLease(this.key(lease), holder, ttlMs);
  }

  release(lease: string, holder: string): Promise<void> {
    return this.cache.releaseLock(this.key(lease), holder);
  }

  currentToken(lease: string): Promise<number> {
    return this.cache.leaseToken(this.key(lease));
  }

  /**
   * The conditional write a fenced Redis writer uses: set cache key `target` only while `token`
   * is the newest for `lease`. False (nothing written) when a newer leader exists.
   */
  setIfCurrent(lease: string, token: number, target: string, value: string, ttlMs?: number): Promise<boolean> {
    return this.cache.setIfLeaseToken(this.key(lease), token, target, value, ttlMs);
  }
}
