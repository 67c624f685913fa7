import type { Provider } from 'ethers';

/**
 * Nonces for every (chain, sender) used by this process. `withNonce` runs `fn` under a per-sender
 * lock, so concurrent tasks never get the same nonce and never leave a gap: the lock is held
 * from reading the nonce through signing and broadcasting. The nonce is the larger of the
 * chain's pending count and our own next value (the node may not show a just-sent tx yet).
 * A failed `fn` does not advance our counter, and it drops our own value: the next nonce is the
 * chain's count again. Otherwise a transaction we sent that the node later dropped (never mined)
 * would leave a gap our counter kept stepping over, and every later transaction would fail.
 */
export class NonceManager {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly next = new Map<string, number>();

  async withNonce<T>(provider: Provider, chainId: number, from: string, fn: (nonce: number) => Promise<T>): Promise<T> {
    const key = `${chainId}:${from.toLowerCase()}`;
    const prev = this.tails.get(key) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(async () => {
      const onChain = await provider.getTransactionCount(from, 'pending');
      const nonce = Math.max(onChain, this.next.get(key) ?? 0);
      let out: T;
      try {
        out = await fn(nonce);
      } catch (err) {
        this.next.delete(key);
        throw err;
      }
      this.next.set(key, nonce + 1);
      return out;
    });
    this.tails.set(key, run);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === run) this.tails.delete(key);
    }
  }
}
