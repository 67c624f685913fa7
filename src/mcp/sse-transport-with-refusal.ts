import { SSEClientTransport, SseError, type SSEClientTransportOptions } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { InternalAddressRefusedError } from './private-address';

/** publicOnlyFetch's refusal: thrown as it is (the request's check), or as the cause of fetch's "fetch failed" (the connection's). */
function isRefusal(err: unknown): boolean {
  return err instanceof InternalAddressRefusedError || (err instanceof TypeError && err.cause instanceof InternalAddressRefusedError);
}

/**
 * The SDK's SSE transport for an upstream registered with egress "public", whose start fails with
 * publicOnlyFetch's own refusal when that is why its event stream did not open. The SDK opens the
 * stream with an EventSource, which turns a failed fetch into an error event of text only (an
 * SseError without a code): the health reason would say "could not be reached" and the log's
 * cause no INTERNAL_ADDRESS_REFUSED, where the streamable HTTP transport passes the error on as
 * it is. Its other requests (the POSTs) pass their errors on already.
 * @example new SseTransportWithRefusal(url, { fetch: isolatedAbortFetch(publicOnlyFetch()) })
 */
export class SseTransportWithRefusal extends SSEClientTransport {
  private readonly seen: { refusal?: unknown };

  constructor(url: URL, opts: SSEClientTransportOptions & { fetch: FetchLike }) {
    // The fetch records into an object of its own: `this` is not there yet when super is given it.
    const seen: { refusal?: unknown } = {};
    super(url, {
      ...opts,
      fetch: (u, init) =>
        opts.fetch(u, init).catch((err: unknown) => {
          if (isRefusal(err)) seen.refusal = err;
          throw err;
        }),
    });
    this.seen = seen;
  }

  override async start(): Promise<void> {
    this.seen.refusal = undefined;
    try {
      await super.start();
    } catch (err) {
      const refusal = this.seen.refusal;
      throw err instanceof SseError && refusal !== undefined ? refusal : err;
    }
  }
}
