import type { Provider } from 'ethers';

/**
 * The blocks mined at `timestamp` (seconds), as an inclusive number range, or undefined when no
 * block has it. Block timestamps never decrease along a chain (on L1 they strictly increase;
 * some L2s give several blocks the same second), so two binary searches over block numbers find
 * them in about 2·log2(height) header reads: the way to the log of an event whose time is known
 * without an eth_getLogs over the whole chain, which public RPCs refuse past a few thousand blocks.
 * @example const r = await blocksAtTimestamp(provider, ts); if (r) contract.queryFilter(f, r.first, r.last)
 */
export async function blocksAtTimestamp(provider: Provider, timestamp: number): Promise<{ first: number; last: number } | undefined> {
  const head = await provider.getBlockNumber();
  /** The first block whose timestamp is above `t` (head + 1 when none is). */
  async function firstAfter(t: number): Promise<number> {
    let lo = 0;
    let hi = head + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const block = await provider.getBlock(mid);
      if (!block) throw new Error(`the node has no block ${mid} below its head ${head}`);
      if (block.timestamp <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  const first = await firstAfter(timestamp - 1);
  const last = (await firstAfter(timestamp)) - 1;
  return first <= last ? { first, last } : undefined;
}
