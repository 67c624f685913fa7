import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { buildExampleServer } from '../../../examples/mcp-stdio/tools';
import { mcpSessions, readJson } from './mcp-sessions';

/** One request as the upstream saw it: whether it carried the expected credentials. */
export type SeenRequest = { method: string; path: string; authorized: boolean };

export type BearerUpstream = {
  /** Streamable HTTP endpoint. */
  url: string;
  /** SSE endpoint (the older HTTP+SSE transport: GET /sse, POST /messages). */
  sseUrl: string;
  requests: SeenRequest[];
  /** Forget every streamable HTTP session, as a restarted server would: the next request gets 404. */
  forgetSessions(): void;
  close(): Promise<void>;
};

/**
 * The example tools behind the real SDK server transports, answering 401 to any request whose
 * `header` is not exactly `value` (as a hosted MCP server does without its bearer token or API key).
 */
export async function startBearerUpstream(header: string, value: string): Promise<BearerUpstream> {
  return startGuardedUpstream((req) => req.headers[header.toLowerCase()] === value);
}

/**
 * The same, answering 401 to a request whose URL's query parameter `param` is none of `keys` (as a
 * hosted MCP server given its API key in the URL does). An SSE session's posted messages go to the
 * endpoint the server named (`/messages?sessionId=…`), so the session is their credential.
 * `keys` may change meanwhile (a rotated key).
 */
export async function startQueryKeyUpstream(param: string, keys: Set<string>): Promise<BearerUpstream> {
  return startGuardedUpstream((req, path) => path === '/messages' || keys.has(new URL(req.url ?? '/', 'http://x').searchParams.get(param) ?? ''));
}

async function startGuardedUpstream(authorize: (req: IncomingMessage, path: string) => boolean): Promise<BearerUpstream> {
  const sessions = mcpSessions(buildExampleServer);
  const sse = new Map<string, SSEServerTransport>();
  const requests: SeenRequest[] = [];
  const http: Server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const authorized = authorize(req, path);
      requests.push({ method: req.method ?? '', path, authorized });
      if (!authorized) return void res.writeHead(401, { 'www-authenticate': 'Bearer realm="test"', 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      if (path === '/sse' && req.method === 'GET') {
        const t = new SSEServerTransport('/messages', res);
        sse.set(t.sessionId, t);
        t.onclose = () => sse.delete(t.sessionId);
        await buildExampleServer().connect(t);
        return;
      }
      if (path === '/messages' && req.method === 'POST') {
        const t = sse.get(new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId') ?? '');
        if (!t) return void res.writeHead(404).end();
        return void (await t.handlePostMessage(req, res, await readJson(req)));
      }
      // A server refusing in JSON-RPC (-32001), quoting the request it refuses in its message and data.
      if (path === '/refuses' && req.method === 'POST') {
        const { id } = (await readJson(req)) as { id?: unknown };
        const error = { code: -32001, message: `refused: ${req.url}`, data: { url: req.url } };
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, error }));
      }
      // As Express answers a path it does not serve: the path repeated (a key in it too).
      if (path !== '/mcp') return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`Cannot ${req.method} ${path}`);
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      await sessions.handle(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url: `${base}/mcp`,
    sseUrl: `${base}/sse`,
    requests,
    forgetSessions: () => sessions.forget(),
    close: async () => {
      await sessions.close();
      for (const t of sse.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
