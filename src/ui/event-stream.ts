import type { FastifyReply } from 'fastify';

/** Cut off a client that lets this much pile up unread; it reconnects with `after` and misses nothing. */
const MAX_BUFFERED_BYTES = 1 << 20;

export type EventStreamWriter = {
  send(event: string, id: number | undefined, data: unknown): boolean;
  comment(text: string): void;
  readonly closed: boolean;
  /** Call `fn` when the stream ends (at once when it has already). */
  onClose(fn: () => void): void;
  /** End the response; the client reconnects (and hears 401 if its key is gone). */
  close(): void;
};

/**
 * Take over the reply and answer `text/event-stream` (server-sent events framing). Read by the
 * dashboard with fetch(), not EventSource, because EventSource cannot send the Authorization
 * header and the API key must never travel in a URL.
 */
export function openEventStream(reply: FastifyReply): EventStreamWriter {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const closers: (() => void)[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    for (const fn of closers) fn();
    raw.end();
  };
  raw.on('close', close);
  // A client gone while its request was authenticated: 'close' has been and will not come again.
  if (raw.destroyed || !raw.socket || raw.socket.destroyed) close();
  const write = (text: string) => {
    if (closed) return false;
    raw.write(text);
    if (raw.writableLength > MAX_BUFFERED_BYTES) {
      // Ending would wait for a client that does not read: its socket and this buffer would stay.
      close();
      raw.destroy();
    }
    return !closed;
  };
  return {
    send: (event, id, data) => write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => void write(`: ${text.replace(/\n/g, ' ')}\n\n`),
    get closed() {
      return closed;
    },
    onClose: (fn) => (closed ? fn() : void closers.push(fn)),
    close,
  };
}
