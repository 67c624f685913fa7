/**
 * The example MCP server over streamable HTTP (stateful sessions, JSON responses: a call's
 * notifications, such as sleep's progress, are not sent; the stdio example sends them).
 * Run: `PORT=3001 npx tsx examples/mcp-http/server.ts`, then point a client at http://127.0.0.1:3001/mcp
 * (MCP_EXAMPLE_TEST_TOOLS=on adds the test tools, as for the stdio example).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { buildExampleServer } from '../mcp-stdio/tools';

export type HttpExample = { url: string; port: number; close(): Promise<void> };

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Start the example on `port` (0 = any free port). Each MCP session gets its own server instance. */
export async function startHttpExample(opts: { port?: number; host?: string; testTools?: boolean } = {}): Promise<HttpExample> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer(async (req, res) => {
    try {
      if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        if (sid !== undefined || !isInitializeRequest(body)) {
          res.writeHead(sid === undefined ? 400 : 404, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        }
        const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id) => void sessions.set(id, t),
        });
        t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
        await buildExampleServer({ testTools: opts.testTools }).connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => {});
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

if (require.main === module) {
  startHttpExample({ port: Number(process.env.PORT ?? 3001), testTools: process.env.MCP_EXAMPLE_TEST_TOOLS === 'on' })
    .then((s) => console.log(`example MCP server on ${s.url}`))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
