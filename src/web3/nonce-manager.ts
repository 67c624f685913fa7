import type { Provider } from 'ethers';
import { MemoryCache } from '../cache/memory';
import type { Cache } from '../cache/port';
import { withLock } from '../cache/with-lock';
import { newId } from '../core/ids';
import { Web3Error } from './web3-error';

export type NonceManagerOptions = {
  /** Longest a sender's lock is held (signing, recording, broadcasting); a crashed holder frees it then. */
  lockTtlMs?: number;
  /** Longest a send waits for the lock before NONCE_LOCK_BUSY (nothing signed). */
  waitMs?: number;
  /**
   * How long the next nonce handed out is remembered beside the node's pending count: long enough
   * for every node behind the RPC URL to show the transaction, short enough that a chain reset
   * (counts back to 0) is followed instead of leaving a gap nobody fills.
   */
  counterTtlMs?: number;
};

/**
 * Nonces for every (chain, sender), shared by every process on the same cache (Redis across
 * replicas, in memory in the embedded default). `withNonce` runs `fn` under the sender's lock, so
 * concurrent sends, of this process or another, never get the same nonce and never leave a gap:
 * the lock is held from reading the nonce through signing and broadcasting, so the next holder's
 * read of the node's pending count already sees the transaction. The nonce is the larger of that
 * count and the next value handed out (a node behind a load balancer may not show a just-sent tx
 * yet). A failed `fn` does not advance the counter, and it drops it: the next nonce is the chain's
 * count again. Otherwise a transaction that the node later dropped (never mined) would leave a
 * gap the counter kept stepping over, and every later transaction would fail.
 *
 * Within one process sends queue in memory first, so local tasks do not poll the cache's lock.
 *
 * @example await new NonceManager(redisCache).withNonce(provider, 1, from, (nonce) => signAndBroadcast(nonce))
 */
export class NonceManager {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly owner = `nonces-${process.pid}-${newId()}`;
  private seq = 0;
  private readonly lockTtlMs: number;
  private readonly waitMs: number;
  private readonly counterTtlMs: number;

  constructor(
    private readonly cache: Cache = new MemoryCache(),
    o: NonceManagerOptions = {},
  ) {
    this.lockTtlMs = o.lockTtlMs ?? 60_000;
    this.waitMs = o.waitMs ?? 30_000;
    this.counterTtlMs = o.counterTtlMs ?? 60_000;
  }

  async withNonce<T>(provider: Provider, chainId: number, from: string, fn: (nonce: number) => Promise<T>): Promise<T> {
    const sender = `${chainId}:${from.toLowerCase()}`;
    const next = `web3:nonce-next:${sender}`;
    const busy = () => new Web3Error('NONCE_LOCK_BUSY', `the nonce lock of ${from.toLowerCase()} on chain ${chainId} stayed busy for ${this.waitMs} ms (another sender with this wallet): nothing was signed`);
    const prev = this.tails.get(sender) ?? Promise.resolve();
    const run = prev
      .catch(() => {})
      .then(() =>
        withLock(this.cache, `web3:nonce-lock:${sender}`, `${this.owner}:${++this.seq}`, { ttlMs: this.lockTtlMs, pollMs: 25, waitMs: this.waitMs, busy }, async () => {
          const [onChain, ours] = await Promise.all([provider.getTransactionCount(from, 'pending'), this.cache.get(next)]);
          const nonce = Math.max(onChain, Number(ours ?? 0));
          let out: T;
          try {
            out = await fn(nonce);
          } catch (err) {
            await this.cache.del(next).catch(() => {}); // expires anyway; fn's error is the one to report
            throw err;
          }
          await this.cache.set(next, String(nonce + 1), this.counterTtlMs);
          return out;
        }),
      );
    this.tails.set(sender, run);
    try {
      return await run;
    } finally {
      if (this.tails.get(sender) === run) this.tails.delete(sender);
    }
  }
}
