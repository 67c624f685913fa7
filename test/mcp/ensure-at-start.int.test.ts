import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpGateway } from '../../src/mcp/gateway';
import { SHARED_TENANT, type RegisterServerParameters } from '../../src/mcp/types';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

/**
 * start() connects to every server the log knows; ensureServer at start-up (examples,
 * MCP_SERVERS_FILE) then connected again and retired that connection, even with the very same
 * settings: each start began every such server twice (for stdio, two processes: under load the
 * examples server's tsx start-up, twice). With the same settings the connection start() made is kept.
 */
describe('McpGateway: ensureServer at start keeps the connection start() made when the settings are the same', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let upstream: HttpServer;
  let hold = false;
  let initializes = 0;
  const held: { req: IncomingMessage; res: ServerResponse; body: unknown }[] = [];
  const sessions = mcpSessions(() => {
    const s = new McpServer({ name: 'twice', version: '1' });
    s.registerTool('ping', { description: 'Answer pong.' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
    return s;
  });
  let p: RegisterServerParameters;

  before(async () => {
    upstream = createServer(async (req, res) => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if ((body as { method?: string } | undefined)?.method === 'initialize') {
        initializes++;
        if (hold) return void held.push({ req, res, body });
      }
      await sessions.handle(req, res, body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    db = await openTempSqliteStore();
    p = { tenant: SHARED_TENANT, actor: { kind: 'system', id: 'openmcp' }, name: 'twice', transport: 'http', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp` };
  });
  after(async () => {
    upstream?.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    await db?.cleanup();
  });

  it('a restart with the same settings connects once', async () => {
    const first = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await first.start();
    expect((await first.ensureServer(p)).health).to.equal('up');
    await first.close();

    initializes = 0;
    hold = true;
    const again = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    try {
      await again.start();
      // start() is connecting (its initialize waits upstream) when the start-up registration comes.
      await until('start() connecting', () => held.length === 1);
      const ensured = again.ensureServer(p);
      hold = false;
      for (const h of held.splice(0)) if (!h.req.socket.destroyed) await sessions.handle(h.req, h.res, h.body);
      expect((await ensured).health).to.equal('up');
      expect(initializes, 'connections opened').to.equal(1);
    } finally {
      await again.close();
    }
  });
});
