import { expect } from 'chai';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { McpGateway } from '../../src/mcp/gateway';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { makeHarness, type Harness } from './support/harness';

/**
 * docs/errors.md: a dependency that cannot be reached is 503 DEPENDENCY_UNAVAILABLE, never a 500.
 * Found by a failure drill (MariaDB cut for 4 s under load, split roles): POST /v1/keys answered
 * 500 INTERNAL ("connect ECONNREFUSED") while the event store's own routes answered 503. The app
 * runs on a MariaDB database behind a cuttable TCP proxy; every route that reads or writes SQL is
 * asked while the link is down (a crashed server: connections dropped, new ones refused).
 */
describe('REST while MariaDB is unreachable: 503 DEPENDENCY_UNAVAILABLE on every route, never 500', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let proxy: CutProxy;
  let h: Harness;
  let gw: McpGateway;
  let admin: { auth: string; id: string };
  let other: { auth: string; id: string };
  let taskId: string;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_api_outage');
    const u = new URL(db.url);
    proxy = await cutProxy(u.hostname, Number(u.port || 3306));
    u.host = `127.0.0.1:${proxy.port}`;
    h = await makeHarness({}, { databaseUrl: u.toString() });
    gw = new McpGateway({ store: h.store, upstream: { connectTimeoutMs: 5_000, healthIntervalMs: 0 } });
    await gw.start();
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys })) });
    admin = await h.key('admin', 'acme');
    other = await h.key('viewer', 'acme');
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: admin.auth, payload: { steps: [{ tool: 'x__echo', arguments: {} }] } });
    expect(res.statusCode, res.body).to.equal(202);
    taskId = res.json().id;
    // The admin key is known to the authenticator before the cut; each route is then asked with it.
    expect((await h.call({ method: 'GET', url: '/v1/keys', auth: admin.auth })).statusCode).to.equal(200);
    await proxy.down();
  });
  after(async () => {
    await proxy?.up();
    await gw?.close();
    await h?.close();
    await proxy?.close();
    await db?.drop();
  });

  const routes: [string, string, (() => unknown)?][] = [
    ['POST', '/v1/keys', () => ({ role: 'viewer', tenant: 'acme' })],
    ['GET', '/v1/keys'],
    ['DELETE', '/v1/keys/:other'],
    ['PATCH', '/v1/keys/:other', () => ({ agents: null })],
    ['POST', '/v1/tasks', () => ({ steps: [{ tool: 'x__echo', arguments: {} }] })],
    ['GET', '/v1/tasks'],
    ['GET', '/v1/tasks/:task'],
    ['GET', '/v1/tasks/:task/events'],
    ['POST', '/v1/tasks/:task/cancel'],
    ['GET', '/v1/events'],
    ['GET', '/v1/tool-calls'],
  ];
  for (const [method, path, body] of routes) {
    it(`${method} ${path}`, async () => {
      const url = path.replace(':other', other.id).replace(':task', taskId);
      const res = await h.call({ method: method as 'GET', url, auth: admin.auth, ...(body ? { payload: body() as object } : {}) });
      expect(res.statusCode, res.body + h.logs.filter((l) => l.includes('request failed')).slice(-1).join('')).to.equal(503);
      expect(res.json().code).to.equal('DEPENDENCY_UNAVAILABLE');
    });
  }

  it('a key the authenticator has not seen yet: 503, not 401 (the key is not wrong, the database is away)', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tasks', auth: other.auth });
    expect(res.statusCode, res.body).to.equal(503);
    expect(res.json().code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(res.json().detail).to.match(/^api keys \(mysql\): findByHash: [A-Z_]+$/);
  });

  it('/mcp with a key the gateway has not seen yet: 503 DEPENDENCY_UNAVAILABLE with Retry-After, not 401 (a client would give up on a good key)', async () => {
    const fresh = await (async () => {
      await proxy.up();
      try {
        return await h.key('operator', 'acme');
      } finally {
        await proxy.down();
      }
    })();
    const res = await h.call({
      method: 'POST',
      url: '/mcp',
      auth: fresh.auth,
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      payload: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
    });
    expect(res.statusCode, res.body).to.equal(503);
    expect(res.json().error.data.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(res.json().error.message).to.match(/^api keys \(mysql\): findByHash: [A-Z_]+$/);
    expect(res.headers['retry-after']).to.equal('1');
  });

  it('says which store failed and how, never the statement', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tasks', auth: admin.auth });
    expect(res.json().detail).to.match(/^read models \(mysql\): listTasks: [A-Z_]+$/);
  });

  it('answers again once the server is back', async () => {
    await proxy.up();
    const end = Date.now() + 20_000;
    let res = await h.call({ method: 'GET', url: `/v1/tasks/${taskId}`, auth: admin.auth });
    while (res.statusCode !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      res = await h.call({ method: 'GET', url: `/v1/tasks/${taskId}`, auth: admin.auth });
    }
    expect(res.statusCode, res.body + h.logs.filter((l) => l.includes('request failed')).slice(-1).join('')).to.equal(200);
    expect((await h.call({ method: 'POST', url: '/v1/keys', auth: admin.auth, payload: { role: 'viewer', tenant: 'acme' } })).statusCode).to.equal(201);
  });
});
