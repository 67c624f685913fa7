import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';

/**
 * The most bytes the gateway reads of one message of an HTTP or SSE upstream: what the MCP SDK
 * reads of one over stdio (10 MiB), so a server answers alike whichever transport it speaks.
 */
export const MAX_UPSTREAM_MESSAGE_BYTES = STDIO_DEFAULT_MAX_BUFFER_SIZE;

/**
 * An upstream's answer (a JSON body) or one event of its event stream was longer than the
 * gateway reads. Its message is the gateway's own words, quoting nothing of the upstream.
 */
export class UpstreamMessageTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the upstream's answer is over ${limit} bytes, the most the gateway reads of one message (the same as over stdio): not read further`);
    this.name = 'UpstreamMessageTooLargeError';
  }
}

/** The UpstreamMessageTooLargeError `err` is, or wraps (a few causes deep), if any. */
export function messageTooLarge(err: unknown): UpstreamMessageTooLargeError | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UpstreamMessageTooLargeError) return e;
  }
  return undefined;
}

/** Whether `err`, or what it wraps (a few causes deep), is an UpstreamMessageTooLargeError. */
export function isMessageTooLarge(err: unknown): boolean {
  return messageTooLarge(err) !== undefined;
}

/** Passes bytes on until more than `max` have come in all; then errors the stream. */
function totalBound(max: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(new UpstreamMessageTooLargeError(max));
      else controller.enqueue(chunk);
    },
  });
}

/**
 * The answer to a POST (a message sent) that is no event stream, read whole (the SDK reads it whole too), up to `max` bytes; past
 * it UpstreamMessageTooLargeError, the rest not read. Read here rather than piped through a
 * TransformStream into a new body: that cost ~170 µs of CPU per call to an HTTP upstream (bench).
 */
async function readAtMost(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > max) {
      await reader.cancel().catch(() => {});
      throw new UpstreamMessageTooLargeError(max);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Passes an event stream's bytes on until one event (the bytes since the blank line that ended the
 * one before) is longer than `max`; then errors the stream. A blank line is a line end right after
 * another (CRLF, LF or CR, as the WHATWG EventSource spec frames them); a CRLF cut between two
 * chunks is still one line end.
 */
function perEventBound(max: number, onTooLarge?: (err: UpstreamMessageTooLargeError) => void): TransformStream<Uint8Array, Uint8Array> {
  let inEvent = 0;
  let atLineStart = true;
  let afterCr = false;
  return new TransformStream({
    transform(chunk, controller) {
      // The next LF and CR at or after `i` (-1: none left), each searched again only once passed:
      // searching the rest of the chunk at every line cost time of the square of the chunk's
      // length (~1 s of the event loop for one 64 KiB chunk of short lines).
      let lf = chunk.indexOf(LF);
      let cr = chunk.indexOf(CR);
      for (let i = 0; i < chunk.length; ) {
        const b = chunk[i];
        if (b === LF || b === CR) {
          i++;
          // The LF of a CRLF: the same line end.
          if (b === LF && afterCr) {
            afterCr = false;
            continue;
          }
          afterCr = b === CR;
          if (atLineStart) inEvent = 0;
          else {
            atLineStart = true;
            inEvent++;
          }
          continue;
        }
        // The run of bytes up to the next line end (or the chunk's end), counted at once.
        if (lf >= 0 && lf < i) lf = chunk.indexOf(LF, i);
        if (cr >= 0 && cr < i) cr = chunk.indexOf(CR, i);
        const end = Math.min(lf < 0 ? chunk.length : lf, cr < 0 ? chunk.length : cr);
        atLineStart = false;
        afterCr = false;
        inEvent += end - i;
        i = end;
        if (inEvent > max) {
          const err = new UpstreamMessageTooLargeError(max);
          controller.error(err);
          onTooLarge?.(err);
          return;
        }
      }
      controller.enqueue(chunk);
    },
  });
}

/** Statuses whose response has no body (a Response cannot be made with one), and redirects, which the SDK follows or reports by their headers. */
function bodyless(status: number): boolean {
  return status < 200 || status === 204 || status === 205 || (status >= 300 && status < 400);
}

/**
 * `fetch` for the SDK's HTTP client transports (streamable HTTP, SSE), reading at most `maxBytes`
 * of one message: of a JSON (or any other) body in all, of an event stream per event (a GET
 * stream lives for hours; each of its events is one message). Past it the body errors with
 * UpstreamMessageTooLargeError; a `Content-Length` already over it is refused before anything is
 * read. Without it an upstream — a tenant's own, registered by its operator — could answer
 * gigabytes, which the SDK buffers whole (and the gateway then hashes and passes on): one answer,
 * or a few at once, would exhaust the memory of a process every tenant shares.
 *
 * A JSON body's error fails the request that read it. An event stream's does not (the SDK reads
 * it apart from any request, and would leave the call waiting for its timeout), so `onTooLarge`
 * is told, with the request the stream answers: a call's own answer stream (a POST's) fails that
 * call; any other, the connection is to be closed, as the SDK's stdio transport closes it past 10 MiB.
 *
 * @example new StreamableHTTPClientTransport(url, { fetch: boundedFetch(fetch, { onTooLarge: () => client.close() }) })
 */
export function boundedFetch(base: FetchLike, o: { maxBytes?: number; onTooLarge?: (err: UpstreamMessageTooLargeError, init?: RequestInit) => void } = {}): FetchLike {
  const maxBytes = o.maxBytes ?? MAX_UPSTREAM_MESSAGE_BYTES;
  return async (url, init) => {
    const response = await base(url, init);
    if (!response.body || bodyless(response.status)) return response;
    const eventStream = response.headers.get('content-type')?.toLowerCase().includes('text/event-stream') === true;
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (!eventStream && declared > maxBytes) {
      await response.body.cancel().catch(() => {});
      throw new UpstreamMessageTooLargeError(maxBytes);
    }
    const init2 = { status: response.status, statusText: response.statusText, headers: response.headers };
    if (eventStream) return new Response(response.body.pipeThrough(perEventBound(maxBytes, o.onTooLarge && ((err) => o.onTooLarge!(err, init)))), init2);
    // A GET opens a stream (streamable HTTP's GET, whose body the SDK reads as events whatever its
    // type; the SSE transport's EventSource): given as it comes, bounded in all, never waited for
    // whole (an upstream may keep it open for hours).
    if ((init?.method ?? 'GET').toUpperCase() === 'GET') return new Response(response.body.pipeThrough(totalBound(maxBytes)), init2);
    // A Content-Length within the limit bounds the body already (fetch reads no byte past it), unless
    // the body is compressed: fetch decompresses it, and a small gzip body can hold gigabytes.
    const encoding = response.headers.get('content-encoding')?.trim().toLowerCase();
    if (declared <= maxBytes && (!encoding || encoding === 'identity')) return response;
    return new Response(await readAtMost(response.body, maxBytes), init2);
  };
}
