import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import { MAX_LOGGER_CHARS } from '../../src/mcp/log-relay';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { StreamClientTransport } from './support/stream-client-transport';
import { until } from './support/until';
import { collect, loggingServer, type Log } from './support/logging';

const stdio = loggingServer;
const alice = { kind: 'user' as const, id: 'alice' };

const said = (logs: Log[], data: unknown) => logs.filter((l) => JSON.stringify(l.data) === JSON.stringify(data));

/**
 * Upstreams' log messages (notifications/message) reach the MCP clients of the tenant that owns
 * the server — over /mcp (the session's GET stream) and stdio — under `logger` `<server>` or
 * `<server>/<its logger>`, at or above each client's logging/setLevel; never another tenant's
 * clients, and a shared server's reach no one (MCP ties a log message to no request).
 */
describe('MCP gateway: upstream log messages', function () {
  this.timeout(90_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let http: { app: FastifyInstance; url: string };
  let a1: Client;
  let a2: Client;
  let b1: Client;
  let s1: Client;
  let stdioSession: { closed: Promise<void> };
  const logs = new Map<string, Log[]>();

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    await gateway.registerServer({ tenant: 'acme', actor: alice, name: 'logs', ...stdio });
    await gateway.registerServer({ tenant: 'acme', actor: alice, name: 'named', ...stdio, env: { LOGGER_NAME: 'db' } });
    await gateway.registerServer({ tenant: 'acme', actor: alice, name: 'longname', ...stdio, env: { LOGGER_NAME: 'L'.repeat(2_000) } });
    await gateway.registerServer({ tenant: 'beta', actor: alice, name: 'logs', ...stdio });
    await gateway.registerServer({ tenant: '*', actor: { kind: 'system', id: 'cfg' }, name: 'sharedlogs', ...stdio });
    for (const s of gateway.listServers('acme')) expect(s.health, s.name).to.equal('up');
    http = await startGatewayHttp(gateway);
    a1 = await httpClient(http.url, 'key-acme-alice');
    a2 = await httpClient(http.url, 'key-acme-bob');
    b1 = await httpClient(http.url, 'key-beta-mallory');
    const transport = new StreamClientTransport();
    stdioSession = await runGatewayStdio(gateway, { tenant: 'acme', actor: alice }, { stdin: transport.serverStdin, stdout: transport.serverStdout });
    s1 = new Client({ name: 'stdio-test', version: '1.0.0' });
    await s1.connect(transport);
    for (const [name, c] of Object.entries({ a1, a2, b1, s1 })) logs.set(name, collect(c));
    // The HTTP clients' GET streams open after initialize: a message before that has nowhere to go.
    let n = 0;
    await until('every client hears its tenant', async () => {
      const mark = `ready ${n++}`;
      await a1.callTool({ name: 'logs__log', arguments: { level: 'debug', data: mark } });
      await b1.callTool({ name: 'logs__log', arguments: { level: 'debug', data: mark } });
      await new Promise((r) => setTimeout(r, 100));
      return ['a1', 'a2', 'b1', 's1'].every((c) => said(logs.get(c)!, mark).length > 0);
    });
  });

  after(async function () {
    for (const c of [a1, a2, b1, s1]) await c?.close().catch(() => {});
    await stdioSession?.closed;
    await http?.app.close();
    await gateway?.close();
    await db?.cleanup();
  });

  /** Wait until the tenant's clients have heard `data` (a marker sent after what the test checks). */
  async function heard(clients: string[], data: unknown): Promise<void> {
    await until(`${clients.join(', ')} hear ${JSON.stringify(data)}`, () => clients.every((c) => said(logs.get(c)!, data).length > 0));
  }

  it('relays a call’s log and the server’s own to every client of the tenant, logger = server name; not to another tenant', async function () {
    await a1.callTool({ name: 'logs__log', arguments: { level: 'info', data: 'hello acme', background: true } });
    await b1.callTool({ name: 'logs__log', arguments: { level: 'info', data: 'hello beta' } });
    await heard(['a1', 'a2', 's1'], { background: 'hello acme' });
    await heard(['b1'], 'hello beta');
    for (const c of ['a1', 'a2', 's1']) {
      expect(said(logs.get(c)!, 'hello acme'), c).to.deep.equal([{ level: 'info', logger: 'logs', data: 'hello acme' }]);
      expect(said(logs.get(c)!, 'hello beta'), c).to.deep.equal([]);
    }
    expect(said(logs.get('b1')!, 'hello acme')).to.deep.equal([]);
    expect(said(logs.get('b1')!, { background: 'hello acme' })).to.deep.equal([]);
  });

  it('names the upstream’s own logger after the server: <server>/<logger>', async function () {
    await a1.callTool({ name: 'named__log', arguments: { level: 'notice', data: 'named' } });
    await heard(['a1'], 'named');
    expect(said(logs.get('a1')!, 'named')).to.deep.equal([{ level: 'notice', logger: 'named/db', data: 'named' }]);
  });

  it('cuts a long logger name of the upstream to MAX_LOGGER_CHARS (a message goes to every client of the tenant)', async function () {
    await a1.callTool({ name: 'longname__log', arguments: { level: 'notice', data: 'long logger' } });
    await heard(['a1'], 'long logger');
    expect(said(logs.get('a1')!, 'long logger')).to.deep.equal([{ level: 'notice', logger: `longname/${'L'.repeat(MAX_LOGGER_CHARS - 1)}…`, data: 'long logger' }]);
  });

  it('relays nothing of a shared server (it serves every tenant) to anyone', async function () {
    await a1.callTool({ name: 'sharedlogs__log', arguments: { level: 'error', data: 'shared secret', background: true } });
    await b1.callTool({ name: 'sharedlogs__log', arguments: { level: 'error', data: 'shared secret' } });
    await a1.callTool({ name: 'logs__log', arguments: { level: 'info', data: 'after shared' } });
    await b1.callTool({ name: 'logs__log', arguments: { level: 'info', data: 'after shared' } });
    await heard(['a1', 'a2', 's1', 'b1'], 'after shared');
    for (const [c, l] of logs) expect(l.filter((x) => JSON.stringify(x.data).includes('shared secret')), c).to.deep.equal([]);
  });

  it('each client gets what its logging/setLevel lets through (over /mcp and stdio)', async function () {
    await a2.setLoggingLevel('warning');
    await s1.setLoggingLevel('error');
    for (const level of ['debug', 'info', 'warning', 'error', 'critical'] as const) {
      await a1.callTool({ name: 'logs__log', arguments: { level, data: `level ${level}` } });
    }
    await heard(['a1', 'a2', 's1'], 'level critical');
    const levels = (c: string) => logs.get(c)!.filter((l) => String(l.data).startsWith('level ')).map((l) => l.level);
    expect(levels('a1')).to.deep.equal(['debug', 'info', 'warning', 'error', 'critical']);
    expect(levels('a2')).to.deep.equal(['warning', 'error', 'critical']);
    expect(levels('s1')).to.deep.equal(['error', 'critical']);
    // Back to everything (debug is the lowest).
    await a2.setLoggingLevel('debug');
    await a1.callTool({ name: 'logs__log', arguments: { level: 'debug', data: 'verbose again' } });
    await heard(['a2'], 'verbose again');
  });

  it('advertises logging; a bad level is -32602 Invalid params', async function () {
    expect(a1.getServerCapabilities()).to.have.property('logging');
    const err = await a1.setLoggingLevel('loud' as never).then(
      () => undefined,
      (e: { code?: number; data?: { code?: string } }) => e,
    );
    expect(err?.code).to.equal(-32602);
    expect(err?.data?.code).to.equal('VALIDATION_FAILED');
  });
});
