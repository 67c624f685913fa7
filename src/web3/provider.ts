import { FetchRequest, JsonRpcProvider } from 'ethers';

/**
 * Longest wait for one JSON-RPC answer. ethers' own is 5 minutes: a node that accepts the
 * connection and never answers (stalled, or a proxy with nothing behind it) held `openmcp verify`
 * and every anchorer round that long. Every call made here is a point read, a bounded log query
 * or a broadcast (whose timeout callers treat as "maybe sent").
 */
export const RPC_TIMEOUT_MS = 30_000;

/**
 * An ethers v6 provider for a JSON-RPC URL. No response cache and a short polling interval:
 * with the defaults, back-to-back transactions on a local node see a stale nonce ("nonce too
 * low") and every wait() sleeps 4 s. Requests made in the same tick still go as one batch, but
 * none waits for later ones (ethers' default waits 10 ms on every call: an anchoring round or a
 * transaction step makes a dozen calls one after another). A request fails after `timeoutMs` (default RPC_TIMEOUT_MS)
 * without an answer, with ethers' TIMEOUT.
 */
export function createRpcProvider(url: string, opts: { pollingIntervalMs?: number; timeoutMs?: number } = {}): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = opts.timeoutMs ?? RPC_TIMEOUT_MS;
  return new JsonRpcProvider(request, undefined, { cacheTimeout: -1, pollingInterval: opts.pollingIntervalMs ?? 50, staticNetwork: false, batchStallTime: 0 });
}
