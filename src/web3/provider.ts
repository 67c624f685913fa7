import { JsonRpcProvider } from 'ethers';

/**
 * An ethers v6 provider for a JSON-RPC URL. No response cache and a short polling interval:
 * with the defaults, back-to-back transactions on a local node see a stale nonce ("nonce too
 * low") and every wait() sleeps 4 s.
 */
export function createRpcProvider(url: string, opts: { pollingIntervalMs?: number } = {}): JsonRpcProvider {
  return new JsonRpcProvider(url, undefined, { cacheTimeout: -1, pollingInterval: opts.pollingIntervalMs ?? 50, staticNetwork: false });
}
