import { LeaseFencedError } from './errors';
import type { LeaseStore } from './lease-store';

/**
 * Throw LeaseFencedError unless `token` is still the newest token of `lease`.
 * A check before a write, not with it: a takeover can still slip in between. Writers whose store
 * can check the token in the write itself use SqlLeaseStore.fenced or CacheLeaseStore.setIfCurrent.
 */
export async function assertToken(store: LeaseStore, lease: string, token: number): Promise<void> {
  const current = await store.currentToken(lease);
  if (current !== token) throw new LeaseFencedError(lease, token, current);
}
