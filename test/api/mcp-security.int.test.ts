import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT } from 'jose';
import { startHttpExample } from '../../examples/mcp-http/server';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { createAuthFailureLimiter } from '../../src/auth/auth-failure-limit';
import { createJwtVerifier } from '../../src/auth/jwt';
import { createRateLimiter } from '../../src/auth/rate-limit';
import { MemoryCache } from '../../src/cache/memory';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';
import { roomInRateWindow } from '../support/rate-window';

/** A service reachable only from the gateway's host, answering 403 with data no tenant may read. */
async function internalService(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const srv: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(403, { 'content-type': 'text/plain' }).end('INTERNAL-ONLY: db_password=hunter2');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/internal/admin`, hits, close: () => new Promise((r) => srv.close(() => r())) };
}

describe('MCP server registration: internal addresses, credentials in URLs, upstream error text', function () {
  this.timeout(60_000);
  let h: Harness;
  let close: () => Promise<void>;
  let svc: Awaited<ReturnType<typeof internalService>>;
  let admin: string;
  let operator: string;
  const log = async () => JSON.stringify(await h.store.readAll({ limit: 10_000 }));

  before(async () => {
    svc = await internalService();
    ({ h, close } = await makeGatewayHarness({}, 3_000));
    // Internal addresses are a cross-tenant admin's to register (a tenant's own admin gets 403: mcp.routes.int.test.ts).
    admin = (await h.key('admin', 'acme', true)).auth;
    operator = (await h.key('operator', 'acme')).auth;
  });
  after(async () => {
    await close();
    await svc.close();
  });
  const register = (auth: string, payload: Record<string, unknown>) => h.call({ method: 'POST', url: '/v1/mcp-servers', auth, payload });

  it('an operator may not point the gateway at an internal address (loopback, private, link-local, by name too): 403 naming body.url, nothing contacted', async () => {
    for (const url of [svc.url, 'http://localhost:9/mcp', 'http://10.1.2.3/mcp', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/mcp', 'http://[::ffff:127.0.0.1]:9/mcp']) {
      const res = await register(operator, { name: 'probe', transport: 'http', url });
      expect(res.statusCode, `${url}: ${res.body}`).to.equal(403);
      expect(res.json().field).to.equal('body.url');
    }
    expect(svc.hits).to.deep.equal([]);
  });

  it("a cross-tenant admin may; the upstream's response body reaches no one (health reason, list, log): only its status", async () => {
    const res = await register(admin, { name: 'internal', transport: 'http', url: svc.url });
    expect(res.statusCode, res.body).to.equal(201);
    expect(svc.hits.length).to.be.greaterThan(0);
    expect(res.json().healthReason).to.include('HTTP 403');
    const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: operator });
    for (const text of [res.body, list.body, await log()]) expect(text).to.not.include('hunter2');
  });

  it('a server an operator registers is recorded with egress "public" (v4) and shown so; one a cross-tenant admin registers is not: only the former is refused internal addresses at each connection', async () => {
    // A name that does not resolve passes the registration check (nothing to reach), as one public then and pointed inside later would.
    const res = await register(operator, { name: 'later', transport: 'http', url: 'http://later.invalid/mcp' });
    expect(res.statusCode, res.body).to.equal(201);
    expect(res.json()).to.include({ egress: 'public' });
    const events = (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered');
    const later = events.find((e) => (e.data as { name: string }).name === 'later')!;
    expect([later.version, (later.data as { egress?: string }).egress]).to.deep.equal([4, 'public']);
    const internal = events.find((e) => (e.data as { name: string }).name === 'internal')!;
    expect(internal.data).to.not.have.property('egress');
    const listed = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: operator })).json().items as { name: string; egress?: string }[];
    expect(listed.find((x) => x.name === 'later')?.egress).to.equal('public');
    expect(listed.find((x) => x.name === 'internal')).to.not.have.property('egress');
    expect((await h.call({ method: 'DELETE', url: `/v1/mcp-servers/${res.json().id}`, auth: operator })).statusCode).to.equal(204);
  });

  it('refuses a user name or password in the URL (400 naming the url): fetch would refuse it, and the log must not hold it', async () => {
    for (const url of ['http://svc:S3cretPassw0rd@upstream.example/mcp', 'http://ghp_Token123@upstream.example/mcp']) {
      const res = await register(admin, { name: 'cred', transport: 'http', url });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json().field).to.match(/url/);
    }
    expect(await log()).to.not.include('S3cretPassw0rd').and.to.not.include('ghp_Token123');
  });

  it('masks credential-like query values in the log and the list (api_key, token, sig)', async () => {
    const res = await register(admin, { name: 'qtok', transport: 'http', url: 'http://upstream.invalid/mcp?api_key=QueryToken456&region=eu&sig=abc' });
    expect(res.statusCode, res.body).to.equal(201);
    const e = (await h.store.readStream(`mcpserver-${res.json().id}`)).find((x) => x.type === 'McpServerRegistered')!;
    expect(e.data.url).to.equal('http://upstream.invalid/mcp?api_key=***&region=eu&sig=***');
    const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: operator });
    expect(list.body + (await log())).to.not.include('QueryToken456');
  });
});

/** A cache whose rate-limit windows never turn over: every hit of a key counts in one window, 30 s from its reset. */
class OneWindowCache extends MemoryCache {
  private readonly counts = new Map<string, number>();
  override async hit(key: string): Promise<{ count: number; resetMs: number }> {
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { count, resetMs: 30_000 };
  }
}

describe('/mcp counts against the same rate limits as the REST API', function () {
  this.timeout(60_000);

  it('per key: 429 with Retry-After once the window is spent, for tools/call as for REST', async () => {
    const up = await startHttpExample();
    const { h, gw, close } = await makeGatewayHarness();
    try {
      // One window for the whole test: the limit counts per minute of the clock, and a new minute
      // (a fresh count) could begin among these requests on a slow machine. Not waited for.
      const limiter = createRateLimiter({ cache: new OneWindowCache(1000), perKeyPerMinute: 6, perTenantPerMinute: 1000 });
      await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys }), limiter) });
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/mcp`;
      await gw.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'x' }, name: 'remote', transport: 'http', url: up.url });
      const k = await h.key('operator', 'acme');
      const client = new Client({ name: 'rl', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: k.auth } } }));
      let ok = 0;
      let refused: unknown;
      for (let i = 0; i < 10 && !refused; i++) {
        await client.callTool({ name: 'remote__echo', arguments: { text: String(i) } }).then(() => ok++, (e: unknown) => (refused = e));
      }
      expect(ok, 'initialize and its notification count too').to.be.within(2, 5);
      expect(String(refused)).to.match(/429|rate limit/i);
      const raw = await fetch(url, { method: 'POST', headers: { authorization: k.auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(raw.status).to.equal(429);
      expect(Number(raw.headers.get('retry-after'))).to.be.within(1, 60);
      await client.close().catch(() => {});
    } finally {
      await close();
      await up.close();
    }
  });
});

describe('/mcp and the role of the key', function () {
  this.timeout(60_000);

  it('a key whose role may not call tools (viewer, auditor) gets 403 FORBIDDEN, not 401 as if the key were bad', async () => {
    const { h, gw, close } = await makeGatewayHarness();
    try {
      await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys })) });
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/mcp`;
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
      const post = (auth: string) =>
        fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(init) });
      for (const role of ['viewer', 'auditor'] as const) {
        const res = await post((await h.key(role, 'acme')).auth);
        expect(res.status, role).to.equal(403);
        const body = (await res.json()) as { error: { code: number; message: string; data: { code: string } } };
        expect(body.error.data, role).to.deep.equal({ code: 'FORBIDDEN' });
        // What to do, as openmcp mcp stdio says it.
        expect(body.error.message).to.equal(`a ${role} key may not call tools (mcp:call; docs/security.md): use an agent or operator key`);
      }
      expect((await post('Bearer omk_not-a-real-key-000000000000')).status).to.equal(401);
      expect((await post((await h.key('agent', 'acme')).auth)).status).to.equal(200);
    } finally {
      await close();
    }
  });
});

describe('/mcp checks credentials before it reads the body', function () {
  this.timeout(60_000);

  it('a caller without a valid key is refused (401, or 429 past the failure limit) whatever it sends: its body is neither read nor parsed', async () => {
    const { h, gw, close } = await makeGatewayHarness({ bodyLimit: 1024 });
    try {
      const failures = createAuthFailureLimiter({ cache: new MemoryCache(), perAddressPerMinute: 2 });
      await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys, failures })) });
      const post = (authorization: string, payload: string, remoteAddress = '198.51.100.60') =>
        h.app.inject({ method: 'POST', url: '/mcp', remoteAddress, headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload });
      const BAD = 'Bearer omk_not-a-real-key-000000000000';
      // The failures count in the clock's minute: the three below, within one.
      await roomInRateWindow(5_000);
      const malformed = await post(BAD, '{"jsonrpc": "2.0", "method": ');
      expect(malformed.statusCode, malformed.body).to.equal(401);
      expect(malformed.json().error.data).to.deep.equal({ code: 'UNAUTHENTICATED' });
      const oversized = await post(BAD, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4096) } }));
      expect(oversized.statusCode, oversized.body).to.equal(401);
      const refused = await post(BAD, '{');
      expect(refused.statusCode, refused.body).to.equal(429);
      // A caller with a key is answered as before: its malformed body is its own problem.
      const agent = (await h.key('agent', 'acme')).auth;
      expect((await post(agent, '{"jsonrpc": ', '198.51.100.61')).statusCode).to.equal(400);
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
      expect((await post(agent, JSON.stringify(init), '198.51.100.61')).statusCode).to.equal(200);
    } finally {
      await close();
    }
  });
});

describe('/mcp sessions and JWT subjects', function () {
  this.timeout(60_000);

  it("a JWT whose sub is an API key's id is refused (401), not taken for the key's holder: it cannot use that key's session", async () => {
    const { h, gw, close } = await makeGatewayHarness();
    try {
      const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
      await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys, jwt: createJwtVerifier({ JWT_SECRET: SECRET }) })) });
      const token = async (sub: string) => `Bearer ${await new SignJWT({ tenant: 'acme', role: 'operator' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(Buffer.from(SECRET))}`;
      const post = (authorization: string, body: object, session?: string) =>
        h.app.inject({
          method: 'POST',
          url: '/mcp',
          headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(session ? { 'mcp-session-id': session } : {}) },
          payload: JSON.stringify(body),
        });
      const key = await h.key('operator', 'acme');
      const opened = await post(key.auth, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
      expect(opened.statusCode, opened.body).to.equal(200);
      const session = String(opened.headers['mcp-session-id']);
      const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
      expect((await post(key.auth, ping, session)).statusCode, "the key's own").to.equal(200);
      expect((await post(await token('mallory'), ping, session)).statusCode, "another subject's").to.equal(403);
      const impostor = await post(await token(key.id), ping, session);
      expect(impostor.statusCode, impostor.body).to.equal(401);
      expect(impostor.json().error.data).to.deep.equal({ code: 'UNAUTHENTICATED' });
    } finally {
      await close();
    }
  });
});
