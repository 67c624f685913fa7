import type { Provider } from 'ethers';
import { MemoryCache } from '../cache/memory';
import type { Cache } from '../cache/port';
import { withLock } from '../cache/with-lock';
import { newId } from '../core/ids';
import { Web3Error } from './web3-error';

export type NonceManagerOptions = {
  /**
   * TTL of a sender's lock. It is renewed every lockTtlMs/3 while its holder signs, records and
   * broadcasts, so only a crashed (or cut off) holder loses it, this long after its last renewal.
   */
  lockTtlMs?: number;
  /** Longest a send waits for its turn (behind sends of this process, then for the lock) before NONCE_LOCK_BUSY (nothing signed). */
  waitMs?: number;
  /**
   * How long the next nonce handed out is remembered beside the node's pending count: long enough
   * for every node behind the RPC URL to show the transaction, short enough that a chain reset
   * (counts back to 0) is followed instead of leaving a gap nobody fills.
   */
  counterTtlMs?: number;
  /** Told about cache errors that do not change a send's outcome (the counter write, the lock's renewal and release). */
  logger?: { warn(obj: unknown, msg?: string): void };
};

/** What `withNonce` hands its `fn` beside the nonce. */
export type NonceLock = {
  /**
   * Throws NONCE_LOCK_LOST unless the sender's lock has been held without a break since the nonce
   * was read (and is renewed now): call it before recording and before broadcasting. Lost, another
   * sender may be signing the same nonce: nothing must be sent.
   */
  check(): Promise<void>;
  /**
   * The nonce is spoken for (its transaction is recorded): the next send gets nonce + 1 even if
   * the broadcast outlives the lock or the process dies before `fn` returns. Best effort.
   */
  used(): Promise<void>;
};

/**
 * Nonces for every (chain, sender), shared by every process on the same cache (Redis across
 * replicas, in memory in the embedded default). `withNonce` runs `fn` under the sender's lock, so
 * concurrent sends, of this process or another, never get the same nonce and never leave a gap:
 * the lock is held from reading the nonce through signing and broadcasting (renewed while `fn`
 * runs, however slow the signer or the node), so the next holder's read of the node's pending
 * count already sees the transaction. `fn` checks the lock is still its own before recording and
 * before broadcasting (a holder cut off from the cache past the TTL sends nothing). The nonce is
 * the larger of that count and the next value handed out (a node behind a load balancer may not
 * show a just-sent tx yet). A failed `fn` that had marked its nonce used drops the counter it
 * wrote (only that value, and not once the lock was lost): the next nonce is the chain's count
 * again, so a transaction the node refused or later dropped leaves no gap the counter kept
 * stepping over. A counter written by an earlier send is left alone: it guards that send's nonce.
 *
 * Once `fn` has succeeded its result stands: the counter write and the lock release after it are
 * best effort (logged), since `fn` may have sent a transaction that a reported failure would get
 * sent again.
 *
 * Within one process sends queue in memory first, so local tasks do not poll the cache's lock;
 * `waitMs` bounds the whole wait, in that queue and for the lock.
 *
 * @example await new NonceManager(redisCache).withNonce(provider, 1, from, async (nonce, lock) => { const raw = await sign(nonce); await lock.check(); await record(raw); await lock.used(); await lock.check(); await broadcast(raw) })
 */
export class NonceManager {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly owner = `nonces-${process.pid}-${newId()}`;
  private seq = 0;
  private readonly lockTtlMs: number;
  private readonly waitMs: number;
  private readonly counterTtlMs: number;
  private readonly logger?: { warn(obj: unknown, msg?: string): void };

  constructor(
    private readonly cache: Cache = new MemoryCache(),
    o: NonceManagerOptions = {},
  ) {
    this.lockTtlMs = o.lockTtlMs ?? 60_000;
    this.waitMs = o.waitMs ?? 30_000;
    this.counterTtlMs = o.counterTtlMs ?? 60_000;
    this.logger = o.logger;
  }

  async withNonce<T>(provider: Provider, chainId: number, from: string, fn: (nonce: number, lock: NonceLock) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.waitMs;
    const who = `${from.toLowerCase()} on chain ${chainId}`;
    const sender = `${chainId}:${from.toLowerCase()}`;
    const next = `web3:nonce-next:${sender}`;
    const busy = () => new Web3Error('NONCE_LOCK_BUSY', `the nonce lock of ${who} stayed busy for ${this.waitMs} ms (other sends with this wallet): nothing was signed`);
    const lost = () => new Web3Error('NONCE_LOCK_LOST', `the nonce lock of ${who} was lost while sending (not renewed for too long: the cache unreachable, or the process stalled), so another sender may use the nonce: the transaction was not sent`);
    const prev = this.tails.get(sender) ?? Promise.resolve();
    const lockOptions = { ttlMs: this.lockTtlMs, pollMs: 25, busy, lost, logger: this.logger };
    const run = settledBy(prev, deadline).then(() =>
      withLock(this.cache, `web3:nonce-lock:${sender}`, `${this.owner}:${++this.seq}`, { ...lockOptions, waitMs: Math.max(0, deadline - Date.now()) }, async (held) => {
        const [onChain, ours] = await Promise.all([provider.getTransactionCount(from, 'pending'), this.cache.get(next)]);
        const nonce = Math.max(onChain, Number(ours ?? 0));
        let used = false;
        const markUsed = async () => {
          if (used) return;
          used = true;
          await this.cache.set(next, String(nonce + 1), this.counterTtlMs).catch((err: Error) => this.logger?.warn({ sender, nonce, err: err.message }, 'next nonce not written (the node\'s pending count is used)'));
        };
        let out: T;
        try {
          out = await fn(nonce, { check: () => held.check(), used: markUsed });
        } catch (err) {
          // Dropped only if this attempt wrote it, and only while it still holds what it wrote (a
          // compare-and-delete: releaseLock deletes a key whose value is the one given): a counter
          // an earlier send wrote guards that send's nonce on a node not showing it yet, and after
          // the lock was lost the counter may be the next holder's. Expires anyway.
          if (used && !(err instanceof Web3Error && err.code === 'NONCE_LOCK_LOST')) await this.cache.releaseLock(next, String(nonce + 1)).catch(() => {});
          throw err;
        }
        await markUsed();
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

/** Resolves when `p` settles or at `deadline`, whichever comes first. */
function settledBy(p: Promise<unknown>, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    p.then(done, done);
  });
}
