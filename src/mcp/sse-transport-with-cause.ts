import { SSEClientTransport, SseError, type SSEClientTransportOptions } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { EgressHostRefusedError } from './egress-rules';
import { InternalAddressRefusedError } from './private-address';

/**
 * Why a fetch failed, when it is worth more than the EventSource's text: publicOnlyFetch's refusal
 * (an internal address, or a host MCP_EGRESS_ALLOWED_HOSTS does not list; thrown as it is by the request's check, or as the cause of fetch's "fetch failed" by the
 * connection's), or undici's "fetch failed" whose cause holds the system error (ECONNREFUSED,
 * ENOTFOUND, ETIMEDOUT, a certificate's code). Not an abort: the transport closing says that itself.
 */
function isConnectFailure(err: unknown): boolean {
  return err instanceof InternalAddressRefusedError || err instanceof EgressHostRefusedError || (err instanceof TypeError && err.cause !== undefined);
}

/**
 * The SDK's SSE transport, whose start fails with the fetch's own error when that is why its event
 * stream did not open. The SDK opens the stream with an EventSource, which turns a failed fetch
 * into an error event of text only (an SseError without a code): the health cause would say
 * `unreachable` with no code (no ECONNREFUSED, no INTERNAL_ADDRESS_REFUSED) where the streamable
 * HTTP transport passes the fetch's error on as it is, and healthCauseOf reads its code. Used for
 * every SSE upstream, operator-configured and tenant-registered (publicOnlyFetch). Its other
 * requests (the POSTs) pass their errors on already.
 * @example new SseTransportWithCause(url, { fetch: isolatedAbortFetch(publicOnlyFetch()) })
 */
export class SseTransportWithCause extends SSEClientTransport {
  private readonly seen: { failure?: unknown };

  constructor(url: URL, opts: SSEClientTransportOptions & { fetch: FetchLike }) {
    // The fetch records into an object of its own: `this` is not there yet when super is given it.
    const seen: { failure?: unknown } = {};
    super(url, {
      ...opts,
      fetch: (u, init) =>
        opts.fetch(u, init).catch((err: unknown) => {
          if (isConnectFailure(err)) seen.failure = err;
          throw err;
        }),
    });
    this.seen = seen;
  }

  override async start(): Promise<void> {
    this.seen.failure = undefined;
    try {
      await super.start();
    } catch (err) {
      const failure = this.seen.failure;
      // An SseError with an HTTP status is the upstream's answer: kept as it is.
      throw err instanceof SseError && typeof err.code !== 'number' && failure !== undefined ? failure : err;
    }
  }
}
