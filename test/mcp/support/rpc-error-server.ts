import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { mcpSessions, readJson } from './mcp-sessions';

/** `fail` calls this process has answered (every session's). */
let failed = 0;

type RpcError = { code: number; message: string };

const TOOLS = [
  {
    name: 'fail',
    description: 'Answer with the JSON-RPC error asked for (code and message).',
    inputSchema: { type: 'object' as const, properties: { code: { type: 'integer' }, message: { type: 'string' } }, required: ['code', 'message'] },
    // Read-only and idempotent: the gateway would retry it on a lost connection.
    annotations: { readOnlyHint: true, idempotentHint: true },
  },
  { name: 'failed', description: 'How many fail calls this process has answered.', inputSchema: { type: 'object' as const, properties: {} } },
  { name: 'hang', description: 'Answer after ms milliseconds (sooner when cancelled).', inputSchema: { type: 'object' as const, properties: { ms: { type: 'integer' } }, required: ['ms'] } },
];

/**
 * An MCP server (the SDK's own Server) whose `fail` tool answers tools/call with the JSON-RPC
 * error its arguments ask for, any code, -32000 and -32001 too (the codes the SDK's client also
 * gives its own ConnectionClosed and RequestTimeout), its message as given; `failed` says how
 * many such answers this process gave (so retries show, over stdio too); `hang` answers late.
 * `pingError`: the error to answer a ping with, when it gives one.
 */
export function buildRpcErrorServer(pingError: () => RpcError | undefined = () => undefined): Server {
  const server = new Server({ name: 'rpc-errors', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(PingRequestSchema, async () => {
    const e = pingError();
    if (e) throw Object.assign(new Error(e.message), { code: e.code });
    return {};
  });
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    if (req.params.name === 'failed') return { content: [{ type: 'text', text: String(failed) }] };
    if (req.params.name === 'hang') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Number(req.params.arguments?.ms));
        extra.signal.addEventListener('abort', () => (clearTimeout(t), resolve()));
      });
      return { content: [{ type: 'text', text: 'done' }] };
    }
    const { code, message } = req.params.arguments as { code: number; message: string };
    failed++;
    // The SDK answers a thrown error with its numeric `code` and its `message` as they are.
    throw Object.assign(new Error(message), { code });
  });
  return server;
}

export type RpcErrorUpstream = {
  url: string;
  /** initialize requests answered: new sessions. */
  sessions(): number;
  /** Answer every later ping with this JSON-RPC error (undefined: answer it). */
  answerPingWith(error: RpcError | undefined): void;
  close(): Promise<void>;
};

/** The server over streamable HTTP (JSON answers), on a free port of 127.0.0.1. */
export async function startRpcErrorUpstream(): Promise<RpcErrorUpstream> {
  let sessions = 0;
  let pingError: RpcError | undefined;
  const mcp = mcpSessions(() => (sessions++, buildRpcErrorServer(() => pingError)), { json: true });
  const http = createServer((req, res) => {
    (async () => mcp.handle(req, res, req.method === 'POST' ? await readJson(req) : undefined))().catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    sessions: () => sessions,
    answerPingWith: (error) => void (pingError = error),
    close: async () => {
      await mcp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

// Run as a program (node --require tsx/cjs rpc-error-server.ts): the same server over stdio.
if (require.main === module) void buildRpcErrorServer().connect(new StdioServerTransport());
