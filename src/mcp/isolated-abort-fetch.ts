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
 * `body` as it is, calling `stop` once it ended, failed or was cancelled: an event stream follows
 * the shared signal while it is read, and no longer (streamable HTTP answers every call as an
 * event stream; each followed until the transport closes would be a controller kept per call).
 */
function followedUntilEnded(body: ReadableStream<Uint8Array>, stop: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        stop();
        controller.close();
      } catch (err) {
        stop();
        controller.error(err);
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
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
 * read (until it ends, fails or is cancelled), so closing the transport still ends the stream.
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
      if (!response.body || !response.headers.get('content-type')?.includes('text/event-stream')) {
        stop();
        return response;
      }
      return new Response(followedUntilEnded(response.body, stop), { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (err) {
      stop();
      throw err;
    }
  };
}
