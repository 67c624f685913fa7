import http from 'node:http';
import https from 'node:https';
import { FetchRequest, JsonRpcProvider, type FetchGetUrlFunc, type Network } from 'ethers';

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
 * without an answer, with ethers' TIMEOUT. A request cut before its answer by a connection reset is
 * sent once more (see resendOnceIfCut).
 */
export function createRpcProvider(url: string, opts: { pollingIntervalMs?: number; timeoutMs?: number } = {}): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = opts.timeoutMs ?? RPC_TIMEOUT_MS;
  request.getUrlFunc = resendOnceIfCut(FetchRequest.createGetUrlFunc());
  // ethers sends a request answered 429 again until the timeout (or 12 tries): remembered, so that
  // the error it ends with (TIMEOUT, or SERVER_ERROR) can name the rate limit (wasRateLimited).
  request.retryFunc = async (_req, response) => {
    if (response.request) rateLimited.add(response.request);
    return true;
  };
  return new QuietStartJsonRpcProvider(request, undefined, { cacheTimeout: -1, pollingInterval: opts.pollingIntervalMs ?? 50, staticNetwork: false, batchStallTime: 0 });
}

/**
 * A JsonRpcProvider whose start-up network detection, retried every second while the node is down,
 * writes nothing. ethers' own loop console.log()s a plain line on each failure, on stdout, where
 * every other line is JSON. `staticNetwork` would skip detection, but also ethers' check of the
 * chain id before each call, which the anchorer relies on (a URL that starts serving another
 * chain). The requests themselves fail and are reported as ever; only that loop is quiet.
 */
class QuietStartJsonRpcProvider extends JsonRpcProvider {
  /** Set while super._start() runs: the first call of its detection loop happens synchronously within it. */
  #starting = false;

  override _start(): void {
    this.#starting = true;
    try {
      super._start();
    } finally {
      this.#starting = false;
    }
  }

  override async _detectNetwork(): Promise<Network> {
    if (!this.#starting) return super._detectNetwork();
    // The start-up loop's call: it returns only once the node answers, so the loop never fails
    // (and never prints); it ends when the provider is destroyed.
    for (;;) {
      try {
        return await super._detectNetwork();
      } catch (err) {
        if (this.destroyed) throw err;
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }
}

/** Requests (ethers' first FetchRequest of each call, which its errors name) answered HTTP 429 at least once. */
const rateLimited = new WeakSet<FetchRequest>();

/**
 * Whether `err` ended a request the node answered HTTP 429 Too Many Requests (a hosted RPC's rate
 * limit), to which ethers sent it again until it gave up (TIMEOUT, or SERVER_ERROR after 12 tries).
 * @example if (wasRateLimited(err)) say('the RPC provider\'s rate limit')
 */
export function wasRateLimited(err: unknown): boolean {
  const request = (err as { request?: unknown } | null)?.request;
  return request instanceof FetchRequest && rateLimited.has(request);
}

/**
 * Node keeps HTTP connections alive between requests. A node, or a proxy before it, that closes an
 * idle one is seen to do so only when the event loop next reads it; a request sent on it before
 * then ends unanswered with ECONNRESET ("socket hang up"), and an anchoring round failed on it. As
 * Node's documentation advises, such a request is sent again, once, on a new connection of its own
 * (not from the pool, which may hold more connections closed at the same moment): reads and log
 * queries, which may be asked twice. Not a broadcast (eth_sendRawTransaction): the node may have
 * taken it before the cut, and its sender already treats that answer as "maybe sent" (it stays
 * charged, is looked for, and is re-broadcast by its own rules); a resend answered "nonce too low"
 * would read as a refusal instead. A timeout is not a cut and is not retried either.
 */
function resendOnceIfCut(getUrl: FetchGetUrlFunc): FetchGetUrlFunc {
  return async (req, signal) => {
    try {
      return await getUrl(req, signal);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ECONNRESET' || signal?.cancelled || broadcasts(req.body)) throw err;
      return (req.url.startsWith('https:') ? onNewConnection.https : onNewConnection.http)(req, signal);
    }
  };
}

/** Whether a JSON-RPC request body (one call or a batch) sends a transaction. */
function broadcasts(body: Uint8Array | null): boolean {
  if (!body) return false;
  try {
    const calls: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    return (Array.isArray(calls) ? calls : [calls]).some((c) => (c as { method?: unknown })?.method === 'eth_sendRawTransaction');
  } catch {
    return true; // not JSON-RPC we can read: do not send it twice
  }
}

/** Requests each on a connection of its own, closed after its answer (agents that pool nothing). */
const onNewConnection = {
  http: FetchRequest.createGetUrlFunc({ agent: new http.Agent({ keepAlive: false }) }),
  https: FetchRequest.createGetUrlFunc({ agent: new https.Agent({ keepAlive: false }) }),
};
