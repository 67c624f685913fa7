import type { JsonRpcProvider, TransactionReceipt } from 'ethers';
import { redactUrlsIn } from '../core/errors';
import type { Writer } from './print-checks';

export type WaitUntilDeepParameters = {
  /** A mined transaction. */
  hash: string;
  /** Blocks deep, its own included (at least 1). */
  confirmations: number;
  /** Where a wait without blocks is said. */
  out: Writer;
  /** Default 1000. */
  pollMs?: number;
  /** How long without a new block (or an answer) before it is said, and again as long as it lasts. Default 60 s. */
  stallMs?: number;
};

/**
 * The receipt of `hash` once it is `confirmations` blocks deep; undefined once the chain and the
 * node no longer have it (a reorg dropped it) while `confirmations` blocks came, or it failed. Not ethers' waitForTransaction:
 * it console.logs each RPC error on stdout ("EEE" and the error, whose info names the RPC URL with
 * its credentials), and waits silently for ever on a transaction a reorg dropped, or for blocks a
 * node that mines only for transactions never makes. Here RPC errors are retried (the transaction
 * is mined: a refusal of a moment must not lose the wait), a wait without blocks is said every
 * `stallMs`.
 * @example const receipt = await waitUntilDeep(provider, { hash, confirmations: 3, out: console.log })
 */
export async function waitUntilDeep(provider: JsonRpcProvider, p: WaitUntilDeepParameters): Promise<TransactionReceipt | undefined> {
  const pollMs = p.pollMs ?? 1000;
  const stallMs = p.stallMs ?? 60_000;
  let head: number | undefined;
  let depth = 0;
  let movedAt = performance.now();
  let lastError: unknown;
  /** The head when the transaction was first seen neither on chain nor in the node's pool. */
  let goneAt: number | undefined;
  for (;;) {
    try {
      const [receipt, now] = await Promise.all([provider.getTransactionReceipt(p.hash), provider.getBlockNumber()]);
      if (now !== head) ((head = now), (movedAt = performance.now()));
      // A reorg puts a dropped transaction back in the node's pool, to be mined again: waited for.
      // Gone from both only while the chain grows `confirmations` blocks (not a backend behind a
      // load balancer that has not seen it yet, as the anchorer meets on public RPCs).
      const gone = !receipt && !(await provider.getTransaction(p.hash));
      goneAt = gone ? (goneAt ?? now) : undefined;
      if (goneAt !== undefined && now - goneAt >= p.confirmations) return undefined;
      if (receipt && receipt.status !== 1) return undefined;
      depth = receipt ? now - receipt.blockNumber + 1 : 0;
      if (receipt && depth >= p.confirmations) return receipt;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() - movedAt >= stallMs) {
      const where = head === undefined ? 'no answer from the node' : `head block ${head}, the deployment ${depth} of ${p.confirmations} blocks deep`;
      const why = lastError ? `; last RPC error: ${redactUrlsIn(String((lastError as { shortMessage?: string }).shortMessage ?? (lastError as Error).message ?? lastError).slice(0, 200), { pathKeys: true })}` : '';
      p.out(`no new block for ${stallMs / 1000} s (${where}${why}): a node that mines only for transactions (Hardhat, anvil without --block-time) makes none; still waiting: mine blocks, or stop and deploy again with --confirmations 1`);
      movedAt = performance.now();
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
