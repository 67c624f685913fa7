import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildAskingServer } from './asking-server';
import { mcpSessions, readJson } from './mcp-sessions';

/** asking-server.ts as a stdio upstream (a child process). */
export const askingStdio = {
  transport: 'stdio' as const,
  command: process.execPath,
  args: ['--require', require.resolve('tsx/cjs'), join(__dirname, 'asking-server.ts')],
};

/**
 * asking-server.ts over streamable HTTP, one server per session, answering POSTs as SSE streams
 * (so a request tied to a call goes on that call's stream), or as JSON with `json: true`.
 */
export async function startAskingUpstream(opts: { json?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = mcpSessions(buildAskingServer, { json: opts.json });
  const http: Server = createServer(async (req, res) => {
    try {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      await sessions.handle(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      await sessions.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
