import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/**
 * `fetch` for the SDK's HTTP client transports (streamable HTTP, SSE): every request gets an
 * AbortSignal of its own that follows the transport's.
 *
 * Why: the SDK hands one connection-wide signal to every fetch, and Node's fetch (undici) adds an
 * abort listener to the signal it is given for each request, removed only on abort or when the
 * request is garbage-collected. Under sustained tool calls to an HTTP upstream the listeners pile
 * up faster than the collector frees them (MaxListenersExceededWarning in the log, memory growing).
 * Here the transport's signal carries one short-lived listener per request instead, removed once
 * the response headers are in (or the request failed); an event-stream response keeps its listener
 * while the stream is read, so closing the transport still ends the stream.
 *
 * @example new StreamableHTTPClientTransport(url, { fetch: isolatedAbortFetch() })
 */
export function isolatedAbortFetch(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const shared = init?.signal;
    if (!shared || shared.aborted) return base(url, init);
    const own = new AbortController();
    const forward = () => own.abort(shared.reason);
    shared.addEventListener('abort', forward, { once: true });
    try {
      const response = await base(url, { ...init, signal: own.signal });
      if (!response.headers.get('content-type')?.includes('text/event-stream')) shared.removeEventListener('abort', forward);
      return response;
    } catch (err) {
      shared.removeEventListener('abort', forward);
      throw err;
    }
  };
}
