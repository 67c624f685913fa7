import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { startBearerUpstream } from '../mcp/support/bearer-upstream';
import { EXAMPLES_SOURCE, serversFileSource } from '../../src/mcp/config-source';
import { SHARED_HEALTH_REASON_WITHHELD, type McpGateway } from '../../src/mcp/gateway';
import { makeGatewayHarness } from './support/gateway-harness';
import { makeHarness, type Harness } from './support/harness';
import { responseSchema, undeclared } from './support/undeclared';
import { mcpGatewayService } from '../../src/api/mcp-gateway-service';

describe('REST /v1/mcp-servers and /v1/tools (real McpGateway, real HTTP MCP upstream)', function () {
  this.timeout(30_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: HttpExample;
  let k: Record<string, string>;

  before(async () => {
    upstream = await startHttpExample();
    ({ h, gw, close } = await makeGatewayHarness());
    k = {
      admin: (await h.key('admin', 'acme')).auth,
      // A cross-tenant admin living in tenant acme: what registering a stdio server, an upstream
      // with headers or one at an internal address takes (all reach the host, so every tenant).
      host: (await h.key('admin', 'acme', true)).auth,
      operator: (await h.key('operator', 'acme')).auth,
      agent: (await h.key('agent', 'acme')).auth,
      viewer: (await h.key('viewer', 'acme')).auth,
      beta: (await h.key('operator', 'beta')).auth,
    };
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  let serverId: string;

  it('POST registers an http upstream (201) and records McpServerRegistered with the actor', async () => {
    // The upstream listens on 127.0.0.1, an internal address: admins only (an operator gets 403, below).
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'remote', transport: 'http', url: upstream.url } });
    expect(res.statusCode, res.body).to.equal(201);
    const s = res.json();
    expect(s).to.include({ name: 'remote', transport: 'http' });
    serverId = s.id;
    const events = (await h.store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered');
    expect(events.at(-1)).to.deep.include({ tenant: 'acme' });
    expect(events.at(-1)!.actor.kind).to.equal('user');
  });

  it('DELETE takes a server id in upper case as the same id, as the other ids in paths (a UUID; `openmcp mcp servers remove` passes one on as given): it answered 404 for the registered server', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'uppercased', transport: 'http', url: upstream.url } });
    expect(res.statusCode, res.body).to.equal(201);
    const id = res.json().id as string;
    const removed = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${id.toUpperCase()}`, auth: k.operator });
    expect(removed.statusCode, removed.body).to.equal(204);
    expect((await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer })).json().items.map((x: { id: string }) => x.id)).to.not.include(id);
  });

  it("POST with the server's own timeoutMs and maxConcurrent: recorded as McpServerRegistered v2, shown in the list", async () => {
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'slow', transport: 'http', url: upstream.url, timeoutMs: 120_000, maxConcurrent: 2 } });
    expect(res.statusCode, res.body).to.equal(201);
    expect(res.json().limits).to.deep.equal({ timeoutMs: 120_000, maxConcurrent: 2 });
    const e = (await h.store.readAll({ limit: 1000 })).filter((x) => x.type === 'McpServerRegistered').at(-1)!;
    expect(e.version).to.equal(2);
    expect(e.data).to.deep.include({ name: 'slow', limits: { timeoutMs: 120_000, maxConcurrent: 2 } });
    const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer });
    const items = list.json().items as { name: string; limits?: unknown; health?: string }[];
    expect(items.find((x) => x.name === 'slow')?.limits).to.deep.equal({ timeoutMs: 120_000, maxConcurrent: 2 });
    expect(items.find((x) => x.name === 'remote')).to.not.have.property('limits');
    expect(items.find((x) => x.name === 'remote')?.health).to.be.oneOf(['unknown', 'up', 'down']);
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: k.operator })).statusCode).to.equal(204);
  });

  it("POST with the server's own connectTimeoutMs: recorded as McpServerRegistered v5 (no earlier version may hold it), shown in the list, declared in the OpenAPI document; out of 1 s to 5 min a 400 naming the field and the bounds", async () => {
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'starter', transport: 'http', url: upstream.url, connectTimeoutMs: 60_000, timeoutMs: 120_000 } });
    expect(res.statusCode, res.body).to.equal(201);
    expect(res.json().limits).to.deep.equal({ timeoutMs: 120_000, connectTimeoutMs: 60_000 });
    const e = (await h.store.readAll({ limit: 1000 })).filter((x) => x.type === 'McpServerRegistered').at(-1)!;
    expect(e.version).to.equal(5);
    expect(e.data).to.deep.include({ name: 'starter', limits: { timeoutMs: 120_000, connectTimeoutMs: 60_000 } });
    const items = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer })).json().items as { name: string; limits?: unknown }[];
    expect(items.find((x) => x.name === 'starter')?.limits).to.deep.equal({ timeoutMs: 120_000, connectTimeoutMs: 60_000 });
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: k.operator })).statusCode).to.equal(204);
    const doc = (await h.call({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.paths['/v1/mcp-servers'].post.requestBody.content['application/json'].schema.properties.connectTimeoutMs).to.include({ type: 'integer', minimum: 1000, maximum: 300_000 });
    for (const connectTimeoutMs of [999, 300_001, 1500.5, '10s']) {
      const bad = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'badstart', transport: 'http', url: upstream.url, connectTimeoutMs } });
      expect(bad.statusCode, String(connectTimeoutMs)).to.equal(400);
      expect(bad.json().field).to.equal('body.connectTimeoutMs');
      expect(bad.json().detail).to.match(/1000 \(1 s\) to 300000 \(5 min\)/);
    }
    expect(gw.listServers('acme').map((s) => s.name)).not.to.include('badstart');
  });

  it("a tenant's own admin may not register what reaches the host: stdio (its process reads DATA_DIR and the environment), headers or env (they send or hand the gateway's variables), an internal URL: 403 naming the field, nothing registered or recorded", async () => {
    const before = (await h.store.readAll({ limit: 10_000 })).length;
    for (const [payload, field] of [
      [{ name: 'own-stdio', transport: 'stdio', command: 'sh', args: ['-c', 'cat admin.key >&2'] }, 'body.transport'],
      [{ name: 'own-env', transport: 'stdio', command: 'sh', env: { X: '${env:OPENMCP_ADMIN_KEY}' } }, 'body.transport'],
      [{ name: 'own-headers', transport: 'http', url: 'https://mcp.example.com/mcp', headers: { 'X-Key': '${env:OPENMCP_ADMIN_KEY}' } }, 'body.headers'],
      [{ name: 'own-internal', transport: 'http', url: upstream.url }, 'body.url'],
      [{ name: 'own-metadata', transport: 'sse', url: 'http://169.254.169.254/latest/meta-data/' }, 'body.url'],
    ] as const) {
      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.admin, payload });
      expect(res.statusCode, payload.name).to.equal(403);
      expect(res.json(), payload.name).to.deep.include({ code: 'FORBIDDEN', field });
      expect(res.json().detail, payload.name).to.include('cross-tenant admin');
      // And how a tenant gets such a server all the same (it said only who may).
      expect(res.json().detail, payload.name).to.include('the host\'s operator gives a tenant one as an MCP_SERVERS_FILE entry with "tenant", or registers it with a cross-tenant admin key issued in that tenant');
    }
    expect((await h.store.readAll({ limit: 10_000 })).length).to.equal(before);
    const listed = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.admin })).json().items as { name: string }[];
    expect(listed.map((x) => x.name).filter((n) => n.startsWith('own-'))).to.deep.equal([]);
  });

  it('409 for a name taken by another definition (200 for the same: test/api/mcp-register-retry.int.test.ts); 400 for bad bodies; stdio is admin-only; viewer and agent may not register', async () => {
    const dup = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'remote', transport: 'http', url: upstream.url, maxConcurrent: 1 } });
    expect(dup.statusCode).to.equal(409);
    for (const [body, field] of [
      [{ name: 'Bad Name', transport: 'http', url: upstream.url }, 'body.name'],
      [{ name: 'my_files', transport: 'http', url: upstream.url }, 'body.name'],
      [{ name: 'x', transport: 'ftp', url: upstream.url }, 'body.transport'],
      [{ name: 'x', transport: 'http' }, 'body.url'],
      [{ name: 'x', transport: 'http', url: 'file:///etc/passwd' }, 'body.url'],
      [{ name: 'x', transport: 'stdio' }, 'body.command'],
      [{ name: 'x', transport: 'http', url: upstream.url, timeoutMs: 0 }, 'body.timeoutMs'],
      [{ name: 'x', transport: 'http', url: upstream.url, timeoutMs: '30s' }, 'body.timeoutMs'],
      [{ name: 'x', transport: 'http', url: upstream.url, maxConcurrent: 1.5 }, 'body.maxConcurrent'],
    ] as const) {
      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.operator, payload: body });
      expect(res.statusCode, JSON.stringify(body)).to.equal(400);
      expect(res.json().field).to.equal(field);
    }
    // No transport (the CLI infers it from --url): said to be required, with what goes with each (it said "Invalid option").
    const bare = (await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.operator, payload: { name: 'x', url: upstream.url } })).json();
    expect(bare).to.include({ field: 'body.transport', detail: 'body.transport: required: "http" or "sse" with a url, "stdio" with a command' });
    const stdio = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.operator, payload: { name: 'local', transport: 'stdio', command: 'sh' } });
    expect(stdio.statusCode).to.equal(403);
    for (const who of ['viewer', 'agent']) {
      expect((await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k[who], payload: { name: 'y', transport: 'http', url: upstream.url } })).statusCode).to.equal(403);
    }
  });

  it('POST with headers (admin): values by reference reach the upstream, the body and the log hold the template only; 403 for others, 400 naming a bad header, MCP_SECRET_MISSING for an unset variable', async () => {
    const secret = `sk-rest-${Math.random().toString(36).slice(2)}`;
    const variable = `OMC_TEST_REST_TOKEN_${process.pid}`;
    const template = `Bearer \${env:${variable}}`;
    const hosted = await startBearerUpstream('Authorization', `Bearer ${secret}`);
    process.env[variable] = secret;
    try {
      const payload = { name: 'hosted', transport: 'http', url: hosted.url, headers: { Authorization: template } };
      const denied = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.operator, payload });
      expect(denied.statusCode).to.equal(403);
      expect(denied.json().field).to.equal('body.headers');
      for (const [headers, field] of [
        [{ 'Content-Type': template }, 'body.headers.Content-Type'],
        [{ 'Mcp-Session-Id': template }, 'body.headers.Mcp-Session-Id'],
        [{ Authorization: `Bearer ${secret}` }, 'body.headers.Authorization'],
      ] as const) {
        const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { ...payload, headers } });
        expect(res.statusCode, JSON.stringify(headers)).to.equal(400);
        expect(res.json().field).to.equal(field);
        expect(res.body).to.not.include(secret);
      }
      const unset = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { ...payload, headers: { 'X-Api-Key': '${env:OMC_TEST_NOT_SET_ANYWHERE}' } } });
      expect(unset.statusCode).to.equal(400);
      expect(unset.json()).to.deep.include({ code: 'MCP_SECRET_MISSING', field: 'body.headers.X-Api-Key' });
      expect(unset.json().detail).to.include('OMC_TEST_NOT_SET_ANYWHERE');

      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload });
      expect(res.statusCode, res.body).to.equal(201);
      expect(res.json()).to.deep.include({ health: 'up', headers: { Authorization: template } });
      expect(hosted.requests.filter((q) => !q.authorized)).to.deep.equal([]);
      const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer });
      expect(list.body).to.not.include(secret);
      expect(JSON.stringify(await h.store.readAll({ limit: 10_000 }))).to.not.include(secret);
      expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: k.admin })).statusCode).to.equal(204);
    } finally {
      delete process.env[variable];
      await hosted.close();
    }
  });

  it('POST stdio with env (admin): references reach the process, the body, list and log hold templates only; a literal value is 400 pointing to ${env:}; env on http 400; 403 for others; MCP_SECRET_MISSING for an unset variable', async () => {
    const secret = `ghp-rest-${Math.random().toString(36).slice(2)}`;
    const variable = `OMC_TEST_REST_STDIO_TOKEN_${process.pid}`;
    const probe = join(__dirname, '..', 'mcp', 'support', 'env-server.ts');
    process.env[variable] = secret;
    try {
      const payload = { name: 'probe', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), probe], env: { TOKEN: `\${env:${variable}}` } };
      const denied = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.operator, payload });
      expect(denied.statusCode).to.equal(403);
      for (const [body, field, text] of [
        [{ ...payload, env: { TOKEN: secret } }, 'body.env.TOKEN', `\${env:TOKEN}`],
        [{ ...payload, env: { TOKEN: '${ENV:X}' } }, 'body.env.TOKEN', 'not a valid reference'],
        [{ name: 'x', transport: 'http', url: upstream.url, env: { TOKEN: `\${env:${variable}}` } }, 'body.env', 'env is for stdio servers'],
      ] as const) {
        const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: body });
        expect(res.statusCode, JSON.stringify(body.env)).to.equal(400);
        expect(res.json().field).to.equal(field);
        expect(res.json().detail).to.include(text);
        expect(res.body).to.not.include(secret);
      }
      const unset = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { ...payload, env: { TOKEN: '${env:OMC_TEST_NOT_SET_ANYWHERE}' } } });
      expect(unset.statusCode).to.equal(400);
      expect(unset.json()).to.deep.include({ code: 'MCP_SECRET_MISSING', field: 'body.env.TOKEN' });
      expect(unset.json().detail).to.include('OMC_TEST_NOT_SET_ANYWHERE');

      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload });
      expect(res.statusCode, res.body).to.equal(201);
      expect(res.json()).to.deep.include({ health: 'up', envKeys: ['TOKEN'], env: { TOKEN: `\${env:${variable}}` } });
      const r = await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'test' } }, 'probe__env_digest', { name: 'TOKEN' });
      expect((r.content as { text: string }[])[0].text).to.equal(createHash('sha256').update(secret).digest('hex'));
      const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer });
      expect(list.body).to.include(`\${env:${variable}}`).and.not.include(secret);
      expect(JSON.stringify(await h.store.readAll({ limit: 10_000 }))).to.not.include(secret);
      expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: k.admin })).statusCode).to.equal(204);
    } finally {
      delete process.env[variable];
    }
  });

  it("POST refuses another transport's fields (command or args on http/sse, url on stdio): 400 naming the field, nothing registered or recorded", async () => {
    // They were taken, recorded for ever in McpServerRegistered and shown back, and did nothing: a
    // stdio server's url even named it in its errors, as if it were where it ran.
    const before = (await h.store.readAll({ limit: 10_000 })).length;
    for (const [body, field, text] of [
      [{ name: 'xcmd', transport: 'http', url: upstream.url, command: 'npx' }, 'body.command', 'command and args are for stdio servers'],
      [{ name: 'xargs', transport: 'sse', url: upstream.url, args: ['-y'] }, 'body.args', 'command and args are for stdio servers'],
      [{ name: 'xurl', transport: 'stdio', command: process.execPath, url: upstream.url }, 'body.url', 'url is for http and sse servers'],
    ] as const) {
      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: body });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field });
      expect(res.json().detail).to.include(text);
    }
    expect((await h.store.readAll({ limit: 10_000 })).length).to.equal(before);
  });

  it("GET lists the tenant's servers only", async () => {
    const mine = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer })).json().items;
    expect(mine.map((s: { id: string }) => s.id)).to.include(serverId);
    const theirs = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.beta })).json().items;
    expect(theirs.map((s: { id: string }) => s.id)).not.to.include(serverId);
    expect((await h.call({ method: 'GET', url: '/v1/mcp-servers' })).statusCode).to.equal(401);
  });

  it('GET /v1/mcp-servers takes no query: ?limit= or ?cursor= is 400 naming it, not a silently whole list (it has no pages)', async () => {
    for (const q of ['limit=1', 'cursor=abc', 'tenant=beta']) {
      const res = await h.call({ method: 'GET', url: `/v1/mcp-servers?${q}`, auth: k.viewer });
      expect(res.statusCode, q).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field: `querystring.${q.split('=')[0]}` });
    }
  });

  it('GET /v1/tools?q= finds the upstream tools for its tenant, not for another', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tools?q=echo%20text&k=3', auth: k.agent });
    expect(res.statusCode).to.equal(200);
    expect(res.json().items.map((t: { name: string }) => t.name)).to.include('remote__echo');
    const beta = (await h.call({ method: 'GET', url: '/v1/tools?q=echo', auth: k.beta })).json().items;
    expect(beta.map((t: { name: string }) => t.name)).not.to.include('remote__echo');
    // Not a listing of every tool: said so, and where that is (it said "expected string, received undefined").
    expect((await h.call({ method: 'GET', url: '/v1/tools', auth: k.agent })).json()).to.include({
      field: 'querystring.q',
      detail: 'querystring.q: required: what the tool should do, in words (1 to 500 characters); every tool is listed by tools/list over /mcp',
    });
    expect((await h.call({ method: 'GET', url: '/v1/tools?q=x&k=500', auth: k.agent })).json().field).to.equal('querystring.k');
  });

  it('/docs declares every field a server (registered, listed) and a tool hit are sent with: command, args, url, registeredAt and a tool\'s title were in answers but not in /docs nor the SDK\'s types', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const list = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.admin })).json();
    const remote = list.items.find((x: { name: string }) => x.name === 'remote');
    expect(remote).to.include.keys('url', 'registeredAt');
    expect(undeclared(list, responseSchema(doc, 'get', '/v1/mcp-servers'))).to.deep.equal([]);
    const stdio = { name: 'stdiofields', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), join(__dirname, '..', '..', 'examples', 'mcp-stdio', 'server.ts')] };
    const registered = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: stdio });
    expect(registered.statusCode, registered.body).to.equal(201);
    try {
      expect(registered.json()).to.include.keys('command', 'args', 'registeredAt');
      expect(undeclared(registered.json(), responseSchema(doc, 'post', '/v1/mcp-servers', '201'))).to.deep.equal([]);
      const tools = (await h.call({ method: 'GET', url: '/v1/tools?q=echo', auth: k.admin })).json();
      expect(undeclared(tools, responseSchema(doc, 'get', '/v1/tools'))).to.deep.equal([]);
      // An upstream tool with a title: the hit carries it (mcpGatewayService), so /docs must name it.
      const titled = await mcpGatewayService({ searchTools: async () => [{ tool: { name: 'a__b', server: 'a', upstreamName: 'b', title: 'B', description: 'd' }, score: 1 }] } as unknown as McpGateway).searchTools('acme', 'b', 1);
      expect(titled[0]).to.include({ title: 'B' });
      expect(undeclared({ items: titled }, responseSchema(doc, 'get', '/v1/tools'))).to.deep.equal([]);
    } finally {
      await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${registered.json().id}`, auth: k.host });
    }
  });

  it("GET /v1/mcp-servers: a shared server's configuration (command, args, env, url, headers) is shown to cross-tenant callers only; a tenant sees its name, health and tools, and all of its own", async () => {
    const shared = await gw.registerServer({
      tenant: '*', actor: { kind: 'system', id: 'test' }, name: 'sharedcfg', transport: 'http', url: `${upstream.url}?internal=1`, headers: { authorization: 'Bearer ${env:HOME}' },
    });
    try {
      const byName = (items: Record<string, unknown>[], name: string) => items.find((x) => x.name === name)!;
      const tenantView = byName((await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.admin })).json().items, 'sharedcfg');
      expect(tenantView).to.include({ id: shared.id, name: 'sharedcfg', transport: 'http', tenant: '*' });
      expect(tenantView).to.have.property('health');
      expect(tenantView).to.have.property('toolCount');
      for (const field of ['command', 'args', 'env', 'envKeys', 'url', 'headers']) expect(tenantView, field).to.not.have.property(field);
      // The tenant's own server keeps its configuration in the tenant's list.
      expect(byName((await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.viewer })).json().items, 'remote')).to.have.property('url');
      const root = await h.key('admin', 'default', true);
      const operatorView = byName((await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: root.auth })).json().items, 'sharedcfg');
      expect(operatorView).to.include({ url: `${upstream.url}?internal=1` });
      expect(operatorView.headers).to.deep.equal({ authorization: 'Bearer ${env:HOME}' });
    } finally {
      await gw.removeServer('*', shared.id, { kind: 'system', id: 'test' });
    }
  });

  it("GET /v1/mcp-servers: a shared server's health reason, which names its url or command, is withheld from a tenant (cross-tenant callers read it)", async () => {
    // A port nothing listens on: the connection is refused, and the reason names the URL (host, path, query).
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closed}/corp-internal/crm?tier=gold`;
    const shared = await gw.registerServer({ tenant: '*', actor: { kind: 'system', id: 'test' }, name: 'shareddown', transport: 'http', url });
    try {
      const root = await h.key('admin', 'default', true);
      const list = async (auth: string) => ((await h.call({ method: 'GET', url: '/v1/mcp-servers', auth })).json().items as Record<string, unknown>[]).find((x) => x.name === 'shareddown')!;
      for (let i = 0; i < 100 && !(await list(root.auth)).healthReason; i++) await new Promise((r) => setTimeout(r, 50));
      const operatorView = await list(root.auth);
      expect(operatorView.health).to.equal('down');
      // Cross-tenant callers read the recorded reason: for a shared server, the gateway's own words.
      expect(operatorView.healthReason).to.be.a('string').and.not.equal(SHARED_HEALTH_REASON_WITHHELD);
      for (const auth of [k.viewer, k.admin, k.beta]) {
        const tenantView = await list(auth);
        expect(tenantView.health).to.equal('down');
        expect(String(tenantView.healthReason ?? '')).to.not.match(/corp-internal|127\.0\.0\.1|ECONNREFUSED|gold/);
      }
    } finally {
      await gw.removeServer('*', shared.id, { kind: 'system', id: 'test' });
    }
  });

  it('DELETE: another tenant gets 404, viewer 403, operator 204, then 409 INVALID_TRANSITION "removed already" (was: 404, as for an id that never existed)', async () => {
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${serverId}`, auth: k.beta })).statusCode).to.equal(404);
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${serverId}`, auth: k.viewer })).statusCode).to.equal(403);
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${serverId}`, auth: k.operator })).statusCode).to.equal(204);
    const again = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${serverId}`, auth: k.operator });
    expect(again.statusCode, again.body).to.equal(409);
    expect(again.json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server remote (${serverId}) is removed already` });
    // Another tenant's, removed or not, is not found: tenants cannot probe each other's ids.
    const other = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${serverId}`, auth: k.beta });
    expect(other.statusCode, other.body).to.equal(404);
    expect(other.json()).to.include({ code: 'NOT_FOUND' });
    const never = await h.call({ method: 'DELETE', url: '/v1/mcp-servers/0193a0c0-0000-7000-8000-00000000abcd', auth: k.operator });
    expect(never.statusCode, never.body).to.equal(404);
    expect(never.json()).to.include({ code: 'NOT_FOUND' });
    // Word for word as an id never seen (but the id and request id): nothing tells the removed one apart.
    const random = await h.call({ method: 'DELETE', url: '/v1/mcp-servers/0193a0c0-0000-7000-8000-00000000abcd', auth: k.beta });
    const same = (r: typeof other, id: string) => ({ ...r.json(), detail: r.json().detail.replace(id, '<id>'), requestId: undefined, instance: undefined });
    expect(same(other, serverId)).to.deep.equal(same(random, '0193a0c0-0000-7000-8000-00000000abcd'));
    expect(Object.keys(other.headers).sort()).to.deep.equal(Object.keys(random.headers).sort());
    expect((await h.call({ method: 'DELETE', url: '/v1/mcp-servers/..%2F..', auth: k.operator })).statusCode).to.equal(400);
    // /docs declares both answers and tells them apart.
    const route = (await h.call({ method: 'GET', url: '/docs' })).json().paths['/v1/mcp-servers/{id}'].delete;
    expect(route.responses).to.include.keys('204', '404', '409');
    expect(route.description).to.match(/409 INVALID_TRANSITION \("removed already"\)/).and.match(/404 NOT_FOUND for an id your tenant never had/);
  });

  it('DELETE of a removed server whose name was registered again: the new server has a new id, and the old id stays removed already (409, naming the new id)', async () => {
    const first = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'again', transport: 'http', url: upstream.url } });
    expect(first.statusCode, first.body).to.equal(201);
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${first.json().id}`, auth: k.operator })).statusCode).to.equal(204);
    const second = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'again', transport: 'http', url: upstream.url } });
    expect(second.statusCode, second.body).to.equal(201);
    try {
      expect(second.json().id).to.not.equal(first.json().id);
      const old = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${first.json().id}`, auth: k.operator });
      expect(old.statusCode, old.body).to.equal(409);
      expect(old.json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server again (${first.json().id}) is removed already; a server of that name is registered now as ${second.json().id}` });
      expect(gw.listServers('acme').map((x) => x.id)).to.include(second.json().id);
    } finally {
      expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${second.json().id}`, auth: k.operator })).statusCode).to.equal(204);
    }
  });

  it("DELETE of a shared server (tenant *): 403 for a tenant's admin or operator, saying who may; a cross-tenant admin removes it, recorded in its tenant with that admin as actor (was: 403 for everyone, \"removed there\" in a configuration that may not have it)", async () => {
    const shared = await gw.registerServer({ tenant: '*', actor: { kind: 'system', id: 'test' }, name: 'sharedx', transport: 'http', url: upstream.url });
    try {
      const listed = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: k.admin })).json().items as { id: string }[];
      expect(listed.map((x) => x.id)).to.include(shared.id);
      for (const auth of [k.admin, k.operator]) {
        const res = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${shared.id}`, auth });
        expect(res.statusCode, res.body).to.equal(403);
        expect(res.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
        expect(res.json().detail).to.equal('MCP server sharedx is shared by every tenant: only a cross-tenant admin (such as the bootstrap admin key) removes it');
      }
      expect(gw.listServers('acme').map((x) => x.id)).to.include(shared.id);
      const root = await h.key('admin', 'default', true);
      const res = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${shared.id}`, auth: root.auth, headers: { 'x-request-id': 'req-shared-1' } });
      expect(res.statusCode, res.body).to.equal(204);
      expect(gw.listServers('acme').map((x) => x.id)).to.not.include(shared.id);
      expect(gw.upstream(shared.id)).to.equal(undefined);
      const removed = (await h.store.readStream(`mcpserver-${shared.id}`)).filter((e) => e.type === 'McpServerRemoved');
      expect(removed.map((e) => ({ version: e.version, tenant: e.tenant, actor: e.actor, correlationId: e.correlationId, data: e.data }))).to.deep.equal([
        { version: 1, tenant: '*', actor: { kind: 'user', id: root.id }, correlationId: 'req-shared-1', data: { name: 'sharedx' } },
      ]);
      // A cross-tenant auditor has no mcp:write.
      expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${shared.id}`, auth: (await h.key('auditor', 'default', true)).auth })).statusCode).to.equal(403);
      // Removed already, for every tenant (each listed it), not 404 and not 403 any more.
      for (const auth of [k.operator, k.beta]) {
        const again = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${shared.id}`, auth });
        expect(again.statusCode, again.body).to.equal(409);
        expect(again.json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server sharedx (${shared.id}) is removed already` });
      }
    } finally {
      if (gw.listServers('*').some((x) => x.id === shared.id)) await gw.removeServer('*', shared.id, { kind: 'system', id: 'test' });
    }
  });

  it("DELETE of a server this gateway's configuration registers at every start: 403 naming the setting, for a cross-tenant admin too; a tenant's own entry likewise", async () => {
    const root = (await h.key('admin', 'default', true)).auth;
    const fromFile = await gw.ensureServer({ tenant: 'acme', actor: { kind: 'system', id: 'test' }, name: 'listed', transport: 'http', url: upstream.url }, serversFileSource('listed'));
    const examples = await gw.ensureServer({ tenant: '*', actor: { kind: 'system', id: 'test' }, name: 'cfgshared', transport: 'http', url: upstream.url }, EXAMPLES_SOURCE);
    try {
      const own = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${fromFile.id}`, auth: k.admin });
      expect(own.statusCode, own.body).to.equal(403);
      expect(own.json().detail).to.equal('MCP server listed is registered at every start by this gateway\'s configuration (entry "listed" of MCP_SERVERS_FILE): delete that entry from the file, restart, then remove it');
      const res = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${examples.id}`, auth: root });
      expect(res.statusCode, res.body).to.equal(403);
      expect(res.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
      expect(res.json().detail).to.equal("MCP server cfgshared is registered at every start by this gateway's configuration (OPENMCP_EXAMPLES=on): unset OPENMCP_EXAMPLES or set it off, restart, then remove it");
      // A tenant's admin is told what holds for it: only a cross-tenant admin removes a shared server, configured or not.
      const byTenant = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${examples.id}`, auth: k.admin });
      expect(byTenant.statusCode, byTenant.body).to.equal(403);
      expect(byTenant.json().detail).to.equal('MCP server cfgshared is shared by every tenant: only a cross-tenant admin (such as the bootstrap admin key) removes it');
      expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${fromFile.id}`, auth: k.beta })).statusCode, "another tenant's: not found").to.equal(404);
      expect(gw.listServers('acme').map((x) => x.name)).to.include.members(['listed', 'cfgshared']);
    } finally {
      // The configuration's own change (an edited entry) still applies: ensureServer is not refused, and reconfigures it in place.
      const replaced = await gw.ensureServer({ tenant: 'acme', actor: { kind: 'system', id: 'test' }, name: 'listed', transport: 'http', url: `${upstream.url}?v=2` }, serversFileSource('listed'));
      expect(replaced.id).to.equal(fromFile.id);
      expect(replaced.url).to.equal(`${upstream.url}?v=2`);
    }
  });

  it("DELETE records McpServerRemoved with the request id as its correlationId, as POST does (docs/errors.md)", async () => {
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: k.host, payload: { name: 'traced', transport: 'http', url: upstream.url }, headers: { 'x-request-id': 'req-add-1' } });
    expect(res.statusCode, res.body).to.equal(201);
    const del = await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: k.operator, headers: { 'x-request-id': 'req-remove-1' } });
    expect(del.statusCode).to.equal(204);
    const stream = (await h.store.readStream(`mcpserver-${res.json().id}`)).filter((e) => e.type === 'McpServerRegistered' || e.type === 'McpServerRemoved');
    expect(stream.map((e) => [e.type, e.correlationId])).to.deep.equal([
      ['McpServerRegistered', 'req-add-1'],
      ['McpServerRemoved', 'req-remove-1'],
    ]);
  });

  it('503 DEPENDENCY_UNAVAILABLE when no gateway is wired', async () => {
    const h2 = await makeHarness({ gateway: undefined });
    try {
      const res = await h2.call({ method: 'GET', url: '/v1/mcp-servers', auth: (await h2.key('viewer', 'acme')).auth });
      expect(res.statusCode).to.equal(503);
      expect(res.json().code).to.equal('DEPENDENCY_UNAVAILABLE');
    } finally {
      await h2.close();
    }
  });
});
