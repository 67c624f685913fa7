import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { mcpSessions, readJson } from './mcp-sessions';

/** Text of these UTF-16 code units: how a caller (whose own arguments must be well-formed) asks for any. */
export const unitsOf = (s: string) => [...Array(s.length).keys()].map((i) => s.charCodeAt(i));
const textOf = (units: unknown) => String.fromCharCode(...(units as number[]));

/**
 * An upstream (the SDK's own Server over streamable HTTP) whose text is not well-formed Unicode
 * wherever it chooses: JSON lets it escape a lone surrogate (`"\ud800"`), and JavaScript's
 * JSON.stringify writes one so. Its tools: `say {units, keyUnits?}` answers text (and, given
 * keyUnits, structuredContent keyed by it) of exactly those UTF-16 units; `fail {units}` answers a
 * JSON-RPC error with that message; `bad\udc00name` has a lone surrogate in its name; `say`'s
 * description and schema hold one too.
 */
export function buildIllFormedServer(): Server {
  const server = new Server({ name: 'ill-formed', version: '1.0.0' }, { capabilities: { tools: {} } });
  const units = { type: 'array', items: { type: 'integer' } };
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'say', description: 'Say it \ud800 as given', inputSchema: { type: 'object' as const, properties: { units, keyUnits: units, ['note\udc00']: { type: 'string', description: 'x\udbff' } } } },
      { name: 'fail', description: 'Fail with it', inputSchema: { type: 'object' as const, properties: { units } } },
      { name: 'bad\udc00name', description: 'Unreachable by name', inputSchema: { type: 'object' as const, properties: {} } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const a = req.params.arguments ?? {};
    if (req.params.name === 'fail') throw Object.assign(new Error(textOf(a.units)), { code: -32010 });
    const text = textOf(a.units);
    return {
      content: [{ type: 'text', text }],
      ...(a.keyUnits ? { structuredContent: { [textOf(a.keyUnits)]: text } } : {}),
    };
  });
  return server;
}

/** The server on a free port of 127.0.0.1. */
export async function startIllFormedUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const mcp = mcpSessions(() => buildIllFormedServer(), { json: true });
  const http = createServer((req, res) => {
    (async () => mcp.handle(req, res, req.method === 'POST' ? await readJson(req) : undefined))().catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      await mcp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
