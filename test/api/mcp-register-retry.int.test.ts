import { expect } from 'chai';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import type { McpGateway } from '../../src/mcp/gateway';
import { ConflictApiError, OpenMcpClient } from '../../src/sdk';
import { runMcpServersAdd } from '../../src/cli/mcp-servers';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

/** POST /v1/mcp-servers sent again: the same definition is the registered server (200), another is 409. */
describe('REST POST /v1/mcp-servers is safe to send again (real McpGateway, real HTTP MCP upstream)', function () {
  this.timeout(30_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: HttpExample;
  let baseUrl: string;
  const k: Record<string, { auth: string; key: string }> = {};

  before(async () => {
    upstream = await startHttpExample();
    ({ h, gw, close } = await makeGatewayHarness());
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    // Cross-tenant admins: the upstream listens on 127.0.0.1, an internal address.
    k.acme = await h.key('admin', 'acme', true);
    k.beta = await h.key('admin', 'beta', true);
    k.operator = await h.key('operator', 'acme');
  });
  after(async () => {
    await close?.();
    await upstream?.close();
  });

  const registered = async (tenant: string, name: string) =>
    (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered' && e.tenant === tenant && (e.data as { name: string }).name === name);
  const post = (auth: string, payload: Record<string, unknown>) => h.call({ method: 'POST', url: '/v1/mcp-servers', auth, payload });

  it('the same body twice: 201, then 200 with the same server (same body shape), one McpServerRegistered, the connection left as it is', async () => {
    const body = { name: 'twice', transport: 'http', url: upstream.url, timeoutMs: 60_000, connectTimeoutMs: 5_000 };
    const first = await post(k.acme.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    const id = first.json().id as string;
    const connection = gw.upstream(id);
    expect(connection).to.not.equal(undefined);
    const again = await post(k.acme.auth, { ...body });
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json()).to.deep.include({ id, name: 'twice', transport: 'http', limits: { timeoutMs: 60_000, connectTimeoutMs: 5_000 } });
    expect(Object.keys(again.json()).sort()).to.deep.equal(Object.keys(first.json()).sort());
    expect(await registered('acme', 'twice')).to.have.length(1);
    expect(gw.upstream(id), 'not reconnected').to.equal(connection);
  });

  it('/docs declares the 200 beside the 201 and the 409, and tells them apart', async () => {
    const route = (await h.call({ method: 'GET', url: '/docs' })).json().paths['/v1/mcp-servers'].post;
    expect(route.responses).to.include.keys('200', '201', '409');
    const body = (status: string) => ({ ...route.responses[status].content['application/json'].schema, description: undefined });
    expect(body('200'), 'the same body').to.deep.equal(body('201'));
    expect(route.description).to.match(/Safe to send again: 200 with the registered server/).and.match(/409 MCP_SERVER_EXISTS when that server is defined otherwise/);
  });

  it('a tenant registered with egress public (an operator) sending it again: 200, as the egress it gets is the same', async () => {
    // An operator's server reaches public addresses only: this one names no internal address to be refused, so no connection either (its health says why).
    const body = { name: 'publicone', transport: 'http', url: 'https://example.invalid/mcp' };
    const first = await post(k.operator.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    const again = await post(k.operator.auth, body);
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json().id).to.equal(first.json().id);
    // The host's admin sending it without egress is another definition: the egress differs.
    const host = await post(k.acme.auth, body);
    expect(host.statusCode, host.body).to.equal(409);
    expect(host.json().detail).to.contain('their definitions differ (egress)');
    expect(await registered('acme', 'publicone')).to.have.length(1);
  });

  it('a different body of a taken name stays 409 MCP_SERVER_EXISTS, saying what differs and how to change it, nothing recorded', async () => {
    const body = { name: 'differs', transport: 'http', url: upstream.url };
    expect((await post(k.acme.auth, body)).statusCode).to.equal(201);
    for (const [other, differs] of [
      [{ ...body, timeoutMs: 60_000 }, ['limits']],
      [{ ...body, connectTimeoutMs: 5_000 }, ['limits']],
      [{ ...body, url: `${upstream.url}?v=2` }, ['url']],
      [{ ...body, headers: { 'X-Key': '${env:PATH}' } }, ['headers']],
    ] as const) {
      const res = await post(k.acme.auth, other);
      expect(res.statusCode, res.body).to.equal(409);
      const problem = res.json();
      expect(problem.code).to.equal('MCP_SERVER_EXISTS');
      expect(problem.detail).to.match(/definitions differ/).and.match(/remove it .* and register it again/).and.match(/MCP_SERVERS_FILE/);
      expect(problem.detail).to.contain(`their definitions differ (${differs.join(', ')})`);
      // A header's template names a variable, never its value: the answer names the setting only.
      expect(res.body).to.not.contain(process.env.PATH);
    }
    expect(await registered('acme', 'differs')).to.have.length(1);
  });

  it('a URL holding credentials (masked in the log) is the same only with the very same credentials, which no answer shows', async () => {
    const body = { name: 'keyed', transport: 'http', url: `${upstream.url}?api_key=first-secret-value` };
    const first = await post(k.acme.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    const again = await post(k.acme.auth, body);
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json().id).to.equal(first.json().id);
    const other = await post(k.acme.auth, { ...body, url: `${upstream.url}?api_key=second-secret-value` });
    expect(other.statusCode, other.body).to.equal(409);
    expect(other.json().detail).to.contain('its URL holds credentials, which the log keeps masked');
    for (const res of [first, again, other]) expect(res.body).to.not.contain('secret-value');
    expect(await registered('acme', 'keyed')).to.have.length(1);
  });

  it('a URL whose credentials are written as the log masks them (***) is not the same as the one registered with real ones', async () => {
    const body = { name: 'starred', transport: 'http', url: `${upstream.url}?api_key=real-secret-value` };
    const first = await post(k.acme.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    // Its URL as the log records it: the very string a retry must not match with.
    for (const url of [`${upstream.url}?api_key=***`, `${upstream.url}?api_key=%2A%2A%2A`]) {
      const res = await post(k.acme.auth, { ...body, url });
      expect(res.statusCode, `${url}: ${res.body}`).to.equal(409);
      expect(res.json().code).to.equal('MCP_SERVER_EXISTS');
    }
    expect(await registered('acme', 'starred')).to.have.length(1);
  });

  it("a tenant's admin sending the very definition of its tenant's stdio server: 403 as ever, never 200 (the permission is checked before the match)", async () => {
    const body = { name: 'hoststdio', transport: 'stdio', command: process.execPath, args: ['-e', 'process.exit(0)'] };
    const first = await post(k.acme.auth, body);
    expect(first.statusCode, first.body).to.equal(201);
    const tenantAdmin = await h.key('admin', 'acme');
    const res = await post(tenantAdmin.auth, body);
    expect(res.statusCode, res.body).to.equal(403);
    expect(await registered('acme', 'hoststdio')).to.have.length(1);
  });

  it("another tenant's server of that name is not the same: 201, a server of its own", async () => {
    const body = { name: 'pertenant', transport: 'http', url: upstream.url };
    const acme = await post(k.acme.auth, body);
    expect(acme.statusCode, acme.body).to.equal(201);
    const beta = await post(k.beta.auth, body);
    expect(beta.statusCode, beta.body).to.equal(201);
    expect(beta.json().id).to.not.equal(acme.json().id);
    expect(await registered('beta', 'pertenant')).to.have.length(1);
    expect((await post(k.beta.auth, body)).statusCode).to.equal(200);
  });

  it('the SDK resends a registration whose answer was lost and resolves with the server; the CLI reports a 200 as registered', async () => {
    // The request reaches the server and is applied; its answer is lost on the way back.
    let lose = 1;
    const flaky = new OpenMcpClient({
      baseUrl,
      apiKey: k.acme.key,
      maxRetryDelayMs: 10,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (lose > 0) {
          lose--;
          await res.body?.cancel();
          throw new TypeError('fetch failed: the answer was lost');
        }
        return res;
      },
    });
    const s = await flaky.mcpServers.register({ name: 'lostanswer', transport: 'http', url: upstream.url });
    expect(lose).to.equal(0);
    expect(s.name).to.equal('lostanswer');
    expect(await registered('acme', 'lostanswer')).to.have.length(1);
    // Another definition of the name: a conflict, on the first answer as on a retry.
    let err: unknown;
    await flaky.mcpServers.register({ name: 'lostanswer', transport: 'http', url: upstream.url, maxConcurrent: 3 }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ConflictApiError);

    const lines: string[] = [];
    const cli = clientFromEnvironment({ env: { OPENMCP_URL: baseUrl, OPENMCP_API_KEY: k.acme.key } });
    expect(await runMcpServersAdd(cli, 'lostanswer', { url: upstream.url }, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.contain(`registered lostanswer (http)  id ${s.id}`);
    expect(await registered('acme', 'lostanswer')).to.have.length(1);
  });
});
