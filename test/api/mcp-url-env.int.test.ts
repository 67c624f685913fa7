import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { runMcpServersAdd } from '../../src/cli/mcp-servers';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { startQueryKeyUpstream, type BearerUpstream } from '../mcp/support/bearer-upstream';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';
import { until } from '../mcp/support/until';

// Values no other text could contain by chance (URL components: letters, digits, -).
const SECRET = `sk-rest-${Math.random().toString(36).slice(2)}-secret`;
const ROTATED = `sk-rest-${Math.random().toString(36).slice(2)}-rotated`;
const VAR = `OMC_TEST_REST_URL_KEY_${process.pid}`;

/** POST /v1/mcp-servers with a URL whose API key is `${env:NAME}`: recorded as written, connected by every replica from its own environment. */
describe('REST POST /v1/mcp-servers: a URL with ${env:NAME} (real McpGateway, real HTTP MCP upstream keyed by ?api_key=)', function () {
  this.timeout(30_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: BearerUpstream;
  let template: string;
  let baseUrl: string;
  const keys = new Set<string>();
  const gatewayLog: unknown[] = [];
  const replicas: McpGateway[] = [];
  const k: Record<string, { auth: string; key: string }> = {};
  const logger = { warn: (o: unknown, m?: string) => gatewayLog.push([o, m]), info: (o: unknown, m?: string) => gatewayLog.push([o, m]), debug: (o: unknown, m?: string) => gatewayLog.push([o, m]) };

  before(async () => {
    process.env[VAR] = SECRET;
    keys.add(SECRET);
    upstream = await startQueryKeyUpstream('api_key', keys);
    template = `${upstream.url}?api_key=\${env:${VAR}}`;
    ({ h, gw, close } = await makeGatewayHarness({}, 5_000, { logger }));
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    // Cross-tenant admins: the upstream listens on 127.0.0.1, and a URL reading the gateway's environment is the host's.
    k.acme = await h.key('admin', 'acme', true);
    k.tenantAdmin = await h.key('admin', 'acme');
  });
  after(async () => {
    for (const r of replicas.splice(0)) await r.close();
    await close?.();
    await upstream?.close();
    delete process.env[VAR];
  });

  const registered = async (name: string) => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered' && (e.data as { name: string }).name === name);
  const post = (auth: string, payload: Record<string, unknown>) => h.call({ method: 'POST', url: '/v1/mcp-servers', auth, payload });
  /** Everything the test captured: answers, the app's and the gateway's logs, the stored events. */
  const everything = async (...answers: { body: string }[]) =>
    JSON.stringify([answers.map((a) => a.body), h.logs, gatewayLog.map(([o, m]: any) => [m, o, o?.err?.message]), await h.store.readAll({ limit: 10_000 })]);

  it('201 and connected; the answer, the list and McpServerRegistered v6 hold the template; the same body again is 200, another template 409 (url)', async () => {
    const body = { name: 'hosted', transport: 'http', url: template };
    const first = await post(k.acme.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    expect(first.json()).to.deep.include({ name: 'hosted', url: template, health: 'up' });
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);
    const [reg] = await registered('hosted');
    expect([reg.version, reg.data]).to.deep.equal([6, { name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=***`, urlTemplate: template }]);

    const again = await post(k.acme.auth, { ...body });
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json().id).to.equal(first.json().id);
    const other = await post(k.acme.auth, { ...body, url: `${upstream.url}?api_key=\${env:PATH}` });
    expect(other.statusCode, other.body).to.equal(409);
    expect(other.json().code).to.equal('MCP_SERVER_EXISTS');
    expect(other.json().detail).to.contain('their definitions differ (url)');
    const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.acme.auth });
    expect(list.json().items.find((s: { name: string }) => s.name === 'hosted').url).to.equal(template);
    const events = await h.call({ method: 'GET', url: '/v1/events?type=McpServerRegistered', auth: k.acme.auth });
    const metrics = await h.call({ method: 'GET', url: '/metrics' });
    expect(await everything(first, again, other, list, events, metrics)).to.not.include(SECRET).and.not.include(process.env.PATH);
    expect(await registered('hosted')).to.have.length(1);
  });

  it('a second replica following the same log connects with its own value, and answers the same registration 200', async () => {
    const first = await post(k.acme.auth, { name: 'shared-key', transport: 'http', url: template });
    expect(first.statusCode, first.body).to.equal(201);
    const id = first.json().id as string;
    // The other replica's host holds the rotated key; the upstream takes only that now.
    process.env[VAR] = ROTATED;
    keys.clear();
    keys.add(ROTATED);
    try {
      const b = new McpGateway({ store: h.store, logger, upstream: { connectTimeoutMs: 5_000, healthIntervalMs: 0 } });
      replicas.push(b);
      await b.start();
      await until('the replica connects', () => b.upstream(id)?.health === 'up');
      expect((await b.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'x' } }, 'shared-key__echo', { text: 'b' })).content).to.deep.equal([{ type: 'text', text: 'b' }]);
      const retried = await b.registerOrMatch({ tenant: 'acme', actor: { kind: 'user', id: 'x' }, name: 'shared-key', transport: 'http', url: template });
      expect(retried).to.deep.include({ existed: true });
      expect(retried.server.id).to.equal(id);
      expect(await everything()).to.not.include(SECRET).and.not.include(ROTATED);
    } finally {
      process.env[VAR] = SECRET;
      keys.clear();
      keys.add(SECRET);
    }
  });

  it('a variable the gateway lacks: 400 MCP_SECRET_MISSING naming body.url and the variable, nothing recorded', async () => {
    const res = await post(k.acme.auth, { name: 'nokey', transport: 'http', url: `${upstream.url}?api_key=\${env:OMC_TEST_NOT_SET_ANYWHERE}` });
    expect(res.statusCode, res.body).to.equal(400);
    expect(res.json()).to.deep.include({ code: 'MCP_SECRET_MISSING', field: 'body.url' });
    expect(res.json().detail).to.contain('environment variable OMC_TEST_NOT_SET_ANYWHERE is not set');
    expect(await registered('nokey')).to.deep.equal([]);
  });

  it('a reference outside the path and query, or beside a credential written as such: 400 naming body.url', async () => {
    for (const url of [`http://\${env:${VAR}}/mcp`, `${upstream.url}?api_key=\${env:${VAR}}&token=${SECRET}`]) {
      const res = await post(k.acme.auth, { name: 'badref', transport: 'http', url });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json().field, url).to.equal('body.url');
    }
    expect(await registered('badref')).to.deep.equal([]);
  });

  it("a tenant's admin: 403 naming body.url (the URL would read the gateway's environment)", async () => {
    const res = await post(k.tenantAdmin.auth, { name: 'tenantkey', transport: 'http', url: `https://mcp.example.com/mcp?api_key=\${env:${VAR}}` });
    expect(res.statusCode, res.body).to.equal(403);
    expect(res.json()).to.deep.include({ code: 'FORBIDDEN', field: 'body.url' });
    expect(await registered('tenantkey')).to.deep.equal([]);
  });

  it('openmcp mcp servers add --url takes the template as written', async () => {
    const lines: string[] = [];
    const cli = clientFromEnvironment({ env: { OPENMCP_URL: baseUrl, OPENMCP_API_KEY: k.acme.key } });
    expect(await runMcpServersAdd(cli, 'fromcli', { url: template }, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.contain('registered fromcli (http)').and.not.contain(SECRET);
    const [reg] = await registered('fromcli');
    expect([reg.version, reg.data.urlTemplate]).to.deep.equal([6, template]);
  });
});
