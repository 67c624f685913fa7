import type { Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * The one place that decides whether an event stream (the dashboard's live stream, an MCP
 * client's `/mcp` GET stream) may open, and that ends the open ones when HTTP begins to close.
 */
export type EventStreams = {
  /** True once the process drains (`draining`) or HTTP's close has begun: no stream opens any more. */
  readonly closing: boolean;
  /**
   * Whether the stream answered on `res` may open. Call it at the last moment before the stream
   * is registered and its head written, with nothing awaited in between (after authentication and
   * any lookup): a check before an await let a stream whose key check ended after the close began
   * open, and nothing ended it, so the close waited for it until SHUTDOWN_DEADLINE_MS.
   * False when `closing`: `res` is marked `Connection: close`, and the caller refuses the request
   * (the dashboard: 503, `Retry-After: 1`; /mcp: a stream that ends at once, which the MCP SDK's
   * client takes best). Else `end` is called as HTTP begins to close, unless `res` closed first.
   * @example if (!streams.admit(reply.raw, () => stream.close())) throw new StreamRefusedError(); // src/api/errors.ts
   */
  admit(res: ServerResponse, end: () => void): boolean;
};

// One per HTTP server: every encapsulated plugin of an app shares its server, and so its streams.
const byServer = new WeakMap<Server, EventStreams>();

/**
 * The event streams of `app`'s HTTP server, made by the first call for that server: `draining`
 * (the process's drain flag, src/main.ts) is taken from that call, and the streams are ended in
 * a preClose hook on that call's instance. buildApp calls it first; a plugin registered on a
 * bare fastify instance (tests) gets streams that refuse only once HTTP closes.
 * @example const streams = eventStreamsOf(app); // in the dashboard and /mcp plugins
 */
export function eventStreamsOf(app: FastifyInstance, draining?: () => boolean): EventStreams {
  const server = app.server as Server;
  const known = byServer.get(server);
  if (known) return known;
  let httpClosing = false;
  const open = new Map<ServerResponse, () => void>();
  const streams: EventStreams = {
    get closing() {
      return httpClosing || draining?.() === true;
    },
    admit(res, end) {
      if (streams.closing) {
        if (!res.headersSent) res.setHeader('connection', 'close');
        return false;
      }
      // A client gone while its request was authenticated: 'close' has been and will not come
      // again, so kept here its response would stay until the process stops (its own writer ends it).
      if (res.destroyed) return true;
      open.set(res, end);
      res.once('close', () => open.delete(res));
      return true;
    },
  };
  app.addHook('preClose', (done) => {
    httpClosing = true;
    for (const end of open.values()) end();
    open.clear();
    done();
  });
  byServer.set(server, streams);
  return streams;
}
