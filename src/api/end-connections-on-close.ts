import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Ends each keep-alive connection right after the response it carries when `app.close()` begins.
 *
 * Why: the server's close ends only the connections idle at that moment (node's
 * `closeIdleConnections`, fastify's default `forceCloseConnections: 'idle'`). A connection whose
 * request was in flight (a tool call, a stream) stays open after its answer for the client's
 * keep-alive, up to `keepAliveTimeout` (fastify's 72 s), and the close waits for it: one such
 * client held a drain past SHUTDOWN_DEADLINE_MS, and the steps after HTTP (checkpoints, stores)
 * never ran. So responses in flight at close say `Connection: close` when their head is still
 * unsent (the client then opens no request on that connection), and each one's connection is
 * closed once it is answered, the head sent already or not (event streams, a head a route wrote
 * with `connection: keep-alive`). Requests arriving meanwhile are fastify's (503, `Connection: close`).
 * A connection that has sent nothing yet (a browser's preconnect, a client pool's spare socket, the
 * socket of a request aborted before it was written) is not idle to node either, and held the close
 * until its client dropped it: it is ended when the close begins (one mid-way through a request's
 * head is left to node's headersTimeout).
 * Requires `app.server` to be node's HTTP/1 server (closeIdleConnections: Node ≥ 18.2).
 * @example const app = Fastify(); endConnectionsOnClose(app); await app.listen({ port: 0 });
 */
export function endConnectionsOnClose(app: FastifyInstance): void {
  const server = app.server as Server;
  const inFlight = new Set<ServerResponse>();
  // Per connection: its responses queued behind another (pipelined), until they close.
  const queued = new WeakMap<Socket, Set<ServerResponse>>();
  let closing = false;
  // Node's own test of idle (no request being read or answered), as the close used: once this
  // response is finished its connection is idle, unless the client has sent another request.
  const closeIdle = () => server.closeIdleConnections();
  // Connections with no request yet: out of the set at their first request, or at their end.
  const silent = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    silent.add(socket);
    socket.once('close', () => silent.delete(socket));
  });
  function forget(this: ServerResponse) {
    inFlight.delete(this);
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    silent.delete(req.socket);
    if (closing) return void res.once('finish', closeIdle);
    inFlight.add(res);
    res.once('close', forget);
    // A pipelined request's response waits, without a socket, for the ones before it: node emits
    // no 'close' for it when the client ends the connection first, and the set held it for ever.
    // One listener per connection however many requests its client pipelines.
    if (res.socket === null) {
      let waiting = queued.get(req.socket);
      if (!waiting) {
        const w = (waiting = new Set());
        queued.set(req.socket, w);
        req.socket.once('close', () => w.forEach((r) => inFlight.delete(r)));
      }
      waiting.add(res);
      res.once('close', () => waiting.delete(res));
    }
  });
  app.addHook('preClose', (done) => {
    closing = true;
    for (const res of inFlight) {
      if (res.writableFinished) continue;
      if (!res.headersSent) res.setHeader('connection', 'close');
      res.once('finish', closeIdle);
    }
    inFlight.clear();
    for (const socket of silent) if (socket.bytesRead === 0) socket.destroy();
    silent.clear();
    done();
  });
}
