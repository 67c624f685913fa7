import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson } from './mcp-sessions';

/** What the upstream's own text holds: a DSN with its password, an API key, a short one-time code. */
export const LEAKY_SECRETS = { token: 'sk_live_CALL_4711', password: 'pw-CALL-0815', code: 'q8x-22-91f' } as const;
const { token, password, code } = LEAKY_SECRETS;
/** The DSN the upstream's error message names (its password is what `store` must redact). */
export const LEAKY_DSN = `postgres://app:${password}@db.internal/app`;

export type LeakyUpstream = { url: string; close(): Promise<void> };

type Rpc = { jsonrpc: '2.0'; id?: number | string; method?: string; params?: Record<string, unknown> };

const TOOLS = ['reject', 'garbled', 'forget'].map((name) => ({ name, description: `Misbehaves: ${name}.`, inputSchema: { type: 'object', properties: {} } }));

/**
 * An MCP server over streamable HTTP written by hand (JSON answers, one session at a time), so
 * that it can answer what the SDK's server never would, its own text holding LEAKY_SECRETS:
 * - `reject` answers tools/call with a JSON-RPC error whose message holds the DSN and the key;
 * - `garbled` answers with a result that is not JSON (a value left unquoted, as a broken
 *   template writes it), which the client's JSON parser quotes in its error;
 * - `forget` answers 404 (the session is gone), and the initialize that follows is answered with
 *   a protocol version made of the key, which the SDK's error quotes.
 * For tests that the gateway keeps such text out of what it records of a failed call.
 */
export async function startLeakyUpstream(): Promise<LeakyUpstream> {
  let session = 0;
  let forgotten = false;

  const json = (res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void =>
    void res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const msg = (await readJson(req)) as Rpc;
    if (msg.method === 'initialize') {
      const asked = String(msg.params?.protocolVersion);
      const protocolVersion = forgotten ? `v-${token}` : asked;
      session++;
      return json(res, { jsonrpc: '2.0', id: msg.id, result: { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'leaky', version: '1' } } }, { 'mcp-session-id': `s${session}` });
    }
    if (req.headers['mcp-session-id'] !== `s${session}`) return void res.writeHead(404).end();
    if (msg.id === undefined) return void res.writeHead(202).end();
    if (msg.method === 'tools/list') return json(res, { jsonrpc: '2.0', id: msg.id, result: { tools: TOOLS } });
    if (msg.method !== 'tools/call') return json(res, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'method not found' } });
    switch (msg.params?.name) {
      case 'reject':
        return json(res, { jsonrpc: '2.0', id: msg.id, error: { code: -32050, message: `license check failed for ${LEAKY_DSN} with key ${token}` } });
      case 'garbled':
        return json(res, `{"jsonrpc":"2.0","id":${JSON.stringify(msg.id)},"result":{"content":[{"type":"text","text":${code}}]}}`);
      default:
        forgotten = true;
        return void res.writeHead(404).end();
    }
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
