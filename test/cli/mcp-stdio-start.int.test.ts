import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { openStores } from '../../src/app/open-stores';
import { generateApiKey } from '../../src/auth/api-key';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';
import { mcpSessions, readJson } from '../mcp/support/mcp-sessions';
import { StreamClientTransport } from '../mcp/support/stream-client-transport';
import { until } from '../mcp/support/until';

/**
 * `openmcp mcp stdio` answers initialize and tools/list (from the catalog) at once, while the
 * upstreams it registers at start connect in the background: an MCP host gives up on a server
 * slow to start, and the gateway waited for each upstream's connection (up to its connect
 * timeout, 10 s each) before reading stdin. A call to an upstream still connecting waits for it.
 */
describe('openmcp mcp stdio: answers before its upstreams have connected', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-start-'));
  const agent = generateApiKey();
  let upstream: HttpServer;
  /** `hold`: initialize requests wait (a server slow to start) until release(). */
  let hold = false;
  const held: { req: IncomingMessage; res: ServerResponse; body: unknown }[] = [];
  /** Whether the gateway still waits for that initialize's answer (it has not given up on the connection). */
  const waiting = (h: (typeof held)[number]) => !h.req.socket.destroyed;
  const sessions = mcpSessions(() => {
    const s = new McpServer({ name: 'slow', version: '1' });
    s.registerTool('ping', { description: 'Answer pong.' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
    return s;
  });
  const release = async () => {
    hold = false;
    for (const h of held.splice(0)) if (waiting(h)) await sessions.handle(h.req, h.res, h.body);
  };
  let config: ReturnType<typeof loadConfig>;

  before(async () => {
    upstream = createServer(async (req, res) => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if (hold && (body as { method?: string } | undefined)?.method === 'initialize') {
        held.push({ req, res, body });
        return;
      }
      await sessions.handle(req, res, body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { slow: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp` } } }));
    config = loadConfig({ DATA_DIR: dir, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error', OPENMCP_EXAMPLES: 'off', MCP_SERVERS_FILE: file, MCP_HEALTH_INTERVAL_MS: '0' });
    const stores = await openStores(config);
    try {
      await new SqlKeyStore(stores.knex).insert({
        id: '01900000-0000-7000-8000-00000000000c', tenant: 'acme', crossTenant: false, createdAt: new Date().toISOString(), createdBy: 'test', role: 'agent', prefix: agent.prefix, hash: agent.hash,
      });
    } finally {
      await stores.close();
    }
  });
  after(async () => {
    upstream?.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function session<T>(use: (client: Client) => Promise<T>): Promise<T> {
    const transport = new StreamClientTransport();
    const running = runMcpStdio(config, agent.key, { stdin: transport.serverStdin, stdout: transport.serverStdout });
    const client = new Client({ name: 'stdio-start', version: '1.0.0' });
    try {
      await client.connect(transport);
      return await use(client);
    } finally {
      await client.close();
      await running;
    }
  }

  it('a first start registers the server from MCP_SERVERS_FILE; its tools are listed at once', async () => {
    const names = await session(async (client) => (await client.listTools()).tools.map((t) => t.name));
    expect(names).to.include('slow__ping');
  });

  it('a later start, the upstream slow to start: initialize and tools/list (its known tools) answered while it still connects; a call waits for it', async () => {
    hold = true;
    await session(async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).to.include('slow__ping');
      // Answered before the gateway gave up on the upstream: its initialize still waits (once sent).
      await until('an initialize of the gateway waiting for the upstream', () => held.some(waiting));
      const call = client.callTool({ name: 'slow__ping', arguments: {} });
      await release();
      expect((await call).content).to.deep.equal([{ type: 'text', text: 'pong' }]);
    });
  });
});
