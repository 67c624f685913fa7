import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

/** A request's JSON body (undefined when empty). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  return body ? JSON.parse(body) : undefined;
}

/**
 * The streamable HTTP sessions of a test upstream: a server from `build()` per session, opened by
 * an initialize without a session id; any other request without a known session id gets 400
 * (none given) or 404 (unknown or forgotten), as the SDK's own examples answer. `json`: answer
 * POSTs as JSON instead of SSE streams; `eventStore`: resumable sessions, each with its own store, resumed by the client `retryMs` after a cut (its priming event says).
 */
export function mcpSessions(build: () => { connect(t: Transport): Promise<void> }, opts: { json?: boolean; eventStore?: () => EventStore; retryMs?: number } = {}) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  return {
    async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        if (sid !== undefined || !isInitializeRequest(body)) {
          res.writeHead(sid === undefined ? 400 : 404, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        }
        const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: opts.json === true,
          // Resumable: its answer streams start with a priming event, and a client resumes one cut short.
          ...(opts.eventStore ? { eventStore: opts.eventStore(), retryInterval: opts.retryMs } : {}),
          onsessioninitialized: (id) => void sessions.set(id, t),
        });
        t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
        await build().connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res, body);
    },
    /** Forget every session without closing it: the next request of each gets 404 (an expired session). */
    forget(): void {
      sessions.clear();
    },
    async close(): Promise<void> {
      for (const t of sessions.values()) await t.close().catch(() => {});
      sessions.clear();
    },
  };
}
