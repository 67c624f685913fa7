import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { EventStore } from '../../src/eventstore/port';
import type { PendingEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { SHARED_TENANT, type RegisterServerParameters } from '../../src/mcp/types';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

/**
 * `openmcp mcp stdio` registers its configured servers (ensureServer) while it already serves
 * calls. A call to a server whose start-up registration reconfigures it (MCP_SERVERS_FILE changed
 * since the last start) must not run on the connection start() made from the log's old settings;
 * and a registration still recording when the gateway closes (the host went away) must not start
 * an upstream after close().
 */
describe('McpGateway: registrations in flight while calls come and while it closes', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  const servers: HttpServer[] = [];
  const initializes = { A: 0, B: 0 };
  const urls: Record<'A' | 'B', string> = { A: '', B: '' };
  const actor = { kind: 'system' as const, id: 'openmcp' };
  const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'u' } };

  /** Appends of these types wait for `release` (the registration's record in flight); the others pass, noted once done. */
  let held = new Set<string>();
  let release: () => void = () => {};
  let reached = new Set<string>();
  const appended: string[] = [];
  const gated = (inner: EventStore): EventStore =>
    new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'append') {
          return async (stream: string, events: PendingEvent[], ...rest: unknown[]) => {
            const type = events[0]?.type;
            if (held.has(type)) {
              reached.add(type);
              await new Promise<void>((r) => (release = r));
            }
            const res = await (target.append as (...a: unknown[]) => Promise<unknown>)(stream, events, ...rest);
            appended.push(type);
            return res;
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });

  before(async () => {
    for (const who of ['A', 'B'] as const) {
      const sessions = mcpSessions(() => {
        const s = new McpServer({ name: who, version: '1' });
        s.registerTool('who', { description: 'Say which server answers.' }, async () => ({ content: [{ type: 'text', text: who }] }));
        return s;
      });
      const srv = createServer(async (req, res) => {
        const body = req.method === 'POST' ? await readJson(req) : undefined;
        if ((body as { method?: string } | undefined)?.method === 'initialize') initializes[who]++;
        await sessions.handle(req, res, body);
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      urls[who] = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/mcp`;
      servers.push(srv);
    }
    db = await openTempSqliteStore();
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await db?.cleanup();
  });
  beforeEach(() => {
    held = new Set();
    reached = new Set();
    appended.length = 0;
  });

  const entry = (name: string, who: 'A' | 'B'): RegisterServerParameters => ({ tenant: SHARED_TENANT, actor, name, transport: 'http', url: urls[who] });
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };

  it('a call while the start-up registration reconfigures its server goes to the new settings, not the old connection', async () => {
    const first = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await first.start();
    await first.ensureServer(entry('svc', 'A'));
    await first.close();

    const gw = new McpGateway({ store: gated(db.store), upstream: { healthIntervalMs: 0 } });
    try {
      await gw.start();
      held = new Set(['McpServerReconfigured']);
      const ensured = gw.ensureServer(entry('svc', 'B'));
      await until('the reconfiguration recording', () => reached.has('McpServerReconfigured'));
      const call = gw.callTool(ctx, 'svc__who', {});
      // The call is recorded, and would now pick its connection.
      await until('the call recorded', () => appended.includes('ToolCallRequested'));
      await flush();
      release();
      await ensured;
      expect((await call).content).to.deep.equal([{ type: 'text', text: 'B' }]);
    } finally {
      release();
      await gw.close();
    }
  });

  it('close() while a registration records: it waits for it, and no upstream is started after close', async () => {
    const gw = new McpGateway({ store: gated(db.store), upstream: { healthIntervalMs: 0 } });
    await gw.start();
    held = new Set(['McpServerRegistered']);
    const registering = gw.registerServer(entry('late', 'A'));
    const failed = registering.then(
      () => undefined,
      (err: unknown) => err,
    );
    await until('the registration recording', () => reached.has('McpServerRegistered'));
    const before = initializes.A;
    const closing = gw.close();
    release();
    await closing;
    // Settled by the time close() has returned: the store may be closed right after.
    let settled = false;
    void failed.then(() => (settled = true));
    await flush();
    expect(settled, 'registration settled when close() returned').to.equal(true);
    expect(await failed).to.be.instanceOf(Error);
    await flush();
    expect(initializes.A - before, 'connections opened after close').to.equal(0);
  });
});
