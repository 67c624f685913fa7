import inject from 'light-my-request';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { InitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

async function post(transport: StreamableHTTPServerTransport, body: object, headers: Record<string, string> = {}): Promise<{ status: number; payload: string }> {
  const res = await inject(
    (req, res) => {
      transport.handleRequest(req, res, body).catch((err: unknown) => res.destroy(err as Error));
    },
    { method: 'POST', url: '/mcp', headers: { ...HEADERS, ...headers }, payload: body },
  );
  return { status: res.statusCode, payload: res.payload };
}

/**
 * Initialize a fresh transport (and the server connected to it) as the client once did on another
 * replica: its initialize request with the recorded params, then notifications/initialized, each
 * POSTed through the transport's public `handleRequest` as in-process fake HTTP (light-my-request).
 * The SDK keeps a session's initialized state private and offers no other way to set it; the
 * answers go nowhere near the real client.
 *
 * Requires a transport built with `sessionIdGenerator: () => sessionId` that has seen no request.
 *
 * @example await replayInitialize(transport, id, { protocolVersion, capabilities, clientInfo })
 */
export async function replayInitialize(transport: StreamableHTTPServerTransport, sessionId: string, params: InitializeRequest['params']): Promise<void> {
  const init = await post(transport, { jsonrpc: '2.0', id: 'openmcp-adopt', method: 'initialize', params });
  if (init.status !== 200 || transport.sessionId !== sessionId || !init.payload.includes('"result"')) {
    throw new Error(`replayed initialize refused (HTTP ${init.status}): ${init.payload.slice(0, 200)}`);
  }
  const initialized = await post(transport, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId });
  if (initialized.status !== 202) throw new Error(`replayed notifications/initialized refused (HTTP ${initialized.status})`);
}
