import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Per shared signal: the requests' own controllers it must abort, behind its one listener. */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

/** An AbortController that aborts with `shared`, and the function that stops it following. */
function follow(shared: AbortSignal): { own: AbortController; stop(): void } {
  let set = followers.get(shared);
  if (!set) {
    const s = new Set<AbortController>();
    shared.addEventListener('abort', () => {
      for (const c of s) c.abort(shared.reason);
      s.clear();
    }, { once: true });
    followers.set(shared, (set = s));
  }
  const own = new AbortController();
  set.add(own);
  return { own, stop: () => set.delete(own) };
}

/**
 * `fetch` for the SDK's HTTP client transports (streamable HTTP, SSE): every request gets an
 * AbortSignal of its own that follows the transport's.
 *
 * Why: the SDK hands one connection-wide signal to every fetch, and Node's fetch (undici) adds an
 * abort listener to the signal it is given for each request, removed only on abort or when the
 * request is garbage-collected. Under sustained tool calls to an HTTP upstream the listeners pile
 * up faster than the collector frees them (MaxListenersExceededWarning in the log, memory growing).
 * Here the transport's signal carries a single listener, whatever the number of requests in
 * flight, which aborts the requests that still follow it. A request stops following once its
 * response headers are in (or it failed); an event-stream response follows while the stream is
 * read, so closing the transport still ends the stream.
 *
 * @example new StreamableHTTPClientTransport(url, { fetch: isolatedAbortFetch() })
 */
export function isolatedAbortFetch(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const shared = init?.signal;
    if (!shared || shared.aborted) return base(url, init);
    const { own, stop } = follow(shared);
    try {
      const response = await base(url, { ...init, signal: own.signal });
      if (!response.headers.get('content-type')?.includes('text/event-stream')) stop();
      return response;
    } catch (err) {
      stop();
      throw err;
    }
  };
}
