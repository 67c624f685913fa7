import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { MemoryCache } from '../../src/cache/memory';
import { examplesServer } from '../../src/mcp/examples-server';
import { McpGateway } from '../../src/mcp/gateway';
import type { McpGatewayPluginOptions } from '../../src/mcp/gateway-plugin';
import type { OriginPolicy } from '../../src/mcp/origin-policy';
import { httpClient, startGatewayHttp, trivialAuth } from './support/clients';
import { openTempSqliteStore } from './support/stores';

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/**
 * One request to /mcp with exactly the headers given, Host included (fetch sets Host itself, and
 * a DNS-rebinding page's requests carry the attacker's host name there).
 */
function send(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const u = new URL(url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method,
        headers: {
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
          ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }),
          ...headers,
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        // A GET that is let through is an SSE stream that never ends: its head is the answer.
        if (res.headers['content-type']?.startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body: '' });
          return;
        }
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** The names of the CORS headers of an answer (`access-control-*`). */
function corsHeadersOf(res: Answer): string[] {
  return Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
}

/** A comma-separated header value as a lowercase list. */
function listOf(v: string | string[] | undefined): string[] {
  return String(v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

function expectRefused(res: Answer, code: 'MCP_ORIGIN_FORBIDDEN' | 'MCP_HOST_FORBIDDEN'): { message: string } {
  expect(res.status, res.body).to.equal(403);
  expect(res.headers['content-type']).to.match(/^application\/json/);
  expect(res.headers['mcp-session-id'], 'no session comes of it').to.equal(undefined);
  expect(corsHeadersOf(res), 'no CORS headers for a refused request').to.deep.equal([]);
  const body = JSON.parse(res.body) as { jsonrpc: string; id: unknown; error: { code: number; message: string; data?: { code?: string } } };
  expect(body.jsonrpc).to.equal('2.0');
  expect(body.id).to.equal(null);
  expect(body.error.code).to.equal(-32001);
  expect(body.error.data).to.deep.equal({ code });
  return body.error;
}

/**
 * The MCP transport spec: servers MUST validate the Origin header of every request to /mcp (DNS
 * rebinding), answering 403 when it is present and not allowed. Refused first, before the key is
 * looked up or a session touched: nothing is opened, called or appended.
 */
describe('/mcp refuses browser origins it does not allow, and Host names it does not answer to', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  const apps: FastifyInstance[] = [];
  const clients: Client[] = [];
  const authenticated: string[] = [];

  /** /mcp on 127.0.0.1 (a free port) with this origin policy; `url` is http://127.0.0.1:<port>/mcp. */
  async function serve(origins: OriginPolicy | undefined, extra: Partial<McpGatewayPluginOptions> = {}): Promise<{ url: string; port: string }> {
    const http = await startGatewayHttp(gateway, {
      ...(origins ? { origins } : {}),
      authenticate: async (request) => {
        authenticated.push(String(request.headers.origin ?? ''));
        return trivialAuth(request);
      },
      ...extra,
    });
    apps.push(http.app);
    return { url: http.url, port: new URL(http.url).port };
  }

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, connectTimeoutMs: 20_000 } });
    await gateway.start();
    const ex = await gateway.registerServer({ ...examplesServer(undefined, {}), tenant: 'acme' });
    expect(ex.health, 'examples connected').to.equal('up');
  });

  after(async function () {
    for (const c of clients) await c.close().catch(() => {});
    for (const a of apps) await a.close();
    await gateway?.close();
    await db?.cleanup();
  });

  describe('listening on loopback, nothing configured (the embedded default)', () => {
    let url: string;
    let port: string;
    const alice = { authorization: 'Bearer key-acme-alice' };
    before(async () => ({ url, port } = await serve({ loopback: true })));

    it('refuses POST, GET and DELETE from another origin with 403 MCP_ORIGIN_FORBIDDEN, before the key is looked up', async () => {
      const seen = authenticated.length;
      const evil = { origin: 'https://evil.example' };
      const error = expectRefused(await send(url, 'POST', { ...alice, ...evil }, initialize), 'MCP_ORIGIN_FORBIDDEN');
      expect(error.message).to.include('https://evil.example').and.to.include('MCP_ALLOWED_ORIGINS');
      // Without a key too: 403 for the origin, not 401 (and it counts as no failed authentication).
      expectRefused(await send(url, 'POST', evil, initialize), 'MCP_ORIGIN_FORBIDDEN');
      expectRefused(await send(url, 'GET', { ...alice, ...evil, 'mcp-session-id': 'x' }), 'MCP_ORIGIN_FORBIDDEN');
      expectRefused(await send(url, 'DELETE', { ...alice, ...evil, 'mcp-session-id': 'x' }), 'MCP_ORIGIN_FORBIDDEN');
      expect(authenticated.length, 'authenticate was not called').to.equal(seen);
    });

    it('refuses the opaque origin "null" (sandboxed frames, file: pages) and other loopback origins (another port is another program)', async () => {
      for (const origin of ['null', `http://localhost:${port}`, 'http://127.0.0.1:3000', `https://127.0.0.1:${port}x`, `http://127.0.0.1:${port}/`]) {
        expectRefused(await send(url, 'POST', { ...alice, origin }, initialize), 'MCP_ORIGIN_FORBIDDEN');
      }
    });

    it('a refused request loses nothing: no session opened, no call made, no event appended, the session untouched', async () => {
      const client = await httpClient(url, 'key-acme-alice');
      clients.push(client);
      const sid = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const head = await db.store.headPosition();
      const evil = { ...alice, origin: 'https://evil.example', 'mcp-session-id': sid };
      const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'examples__echo', arguments: { text: 'from evil' } } };
      expectRefused(await send(url, 'POST', evil, call), 'MCP_ORIGIN_FORBIDDEN');
      expectRefused(await send(url, 'DELETE', evil), 'MCP_ORIGIN_FORBIDDEN');
      expectRefused(await send(url, 'POST', { ...alice, origin: 'https://evil.example' }, initialize), 'MCP_ORIGIN_FORBIDDEN');
      expect(await db.store.headPosition(), 'no event appended').to.equal(head);
      // DELETE was refused: the session still answers, and its calls are recorded as before.
      const r = await client.callTool({ name: 'examples__echo', arguments: { text: 'still here' } });
      expect(r.content).to.deep.equal([{ type: 'text', text: 'still here' }]);
      const events = await db.store.readAll({ after: head, limit: 100 });
      expect(JSON.stringify(events)).to.not.include('from evil');
    });

    it('lets clients without an Origin through as before (a real SDK client: initialize, GET stream, calls, DELETE)', async () => {
      const client = await httpClient(url, 'key-acme-bob');
      const r = await client.callTool({ name: 'examples__echo', arguments: { text: 'no origin' } });
      expect(r.content).to.deep.equal([{ type: 'text', text: 'no origin' }]);
      await (client.transport as StreamableHTTPClientTransport).terminateSession();
      await client.close();
    });

    it("lets pages of the gateway's own origin through (Origin naming the Host it was reached at)", async () => {
      const own = await send(url, 'POST', { ...alice, origin: `http://127.0.0.1:${port}` }, initialize);
      expect(own.status, own.body).to.equal(200);
      expect(own.headers['mcp-session-id']).to.be.a('string');
      const viaLocalhost = await send(url, 'POST', { ...alice, host: `localhost:${port}`, origin: `http://localhost:${port}` }, initialize);
      expect(viaLocalhost.status, viaLocalhost.body).to.equal(200);
    });

    it('an SDK client that sends a foreign Origin fails to connect with 403', async () => {
      const c = new Client({ name: 'browserish', version: '1' });
      const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { ...alice, origin: 'https://evil.example' } } });
      const err = await c.connect(transport).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(StreamableHTTPError);
      expect((err as StreamableHTTPError).code).to.equal(403);
    });

    it('answers only to localhost and loopback addresses in Host: a DNS-rebinding request (attacker name in Host and Origin) gets 403 MCP_HOST_FORBIDDEN', async () => {
      const seen = authenticated.length;
      const rebound = `evil.example:${port}`;
      // The rebinding page's requests are same-origin for the browser: Origin (POST) or none (GET) names the attacker's host.
      const error = expectRefused(await send(url, 'POST', { ...alice, host: rebound, origin: `http://${rebound}` }, initialize), 'MCP_HOST_FORBIDDEN');
      expect(error.message).to.include('evil.example').and.to.include('MCP_ALLOWED_HOSTS');
      expectRefused(await send(url, 'GET', { ...alice, host: rebound, 'mcp-session-id': 'x' }), 'MCP_HOST_FORBIDDEN');
      expectRefused(await send(url, 'POST', { ...alice, host: rebound }, initialize), 'MCP_HOST_FORBIDDEN');
      // Tricks that a naive parse of the Host header would take for loopback.
      for (const host of [`evil.example@127.0.0.1:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`, `localhost:${port}/x`, `localhost:${port}, evil.example`]) {
        expectRefused(await send(url, 'POST', { ...alice, host }, initialize), 'MCP_HOST_FORBIDDEN');
      }
      expect(authenticated.length, 'authenticate was not called').to.equal(seen);
      for (const host of [`127.0.0.1:${port}`, `127.0.0.2:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'localhost']) {
        const res = await send(url, 'POST', { ...alice, host }, initialize);
        expect(res.status, `${host}: ${res.body}`).to.equal(200);
      }
    });
  });

  it('MCP_ALLOWED_ORIGINS: the origins listed pass, others still get 403', async () => {
    const { url } = await serve({ loopback: true, allowedOrigins: ['https://app.example.com', 'chrome-extension://abcdefghijklmnop'] });
    for (const origin of ['https://app.example.com', 'chrome-extension://abcdefghijklmnop']) {
      const res = await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin }, initialize);
      expect(res.status, `${origin}: ${res.body}`).to.equal(200);
    }
    for (const origin of ['https://app.example.com:8443', 'http://app.example.com', 'https://evil.example']) {
      expectRefused(await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin }, initialize), 'MCP_ORIGIN_FORBIDDEN');
    }
  });

  describe('CORS: a page of an allowed origin can use /mcp from the browser', () => {
    const app = 'https://app.example.com';
    let url: string;
    before(async () => ({ url } = await serve({ loopback: true, allowedOrigins: [app] })));
    const preflight = (origin: string, method = 'POST') =>
      send(url, 'OPTIONS', { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version, mcp-session-id, last-event-id' });

    it('answers the preflight (OPTIONS, sent without a key) for the allowed origin, echoing it, and opens, checks and appends nothing', async () => {
      const seen = authenticated.length;
      const head = await db.store.headPosition();
      for (const method of ['POST', 'GET', 'DELETE']) {
        const res = await preflight(app, method);
        expect(res.status, res.body).to.equal(204);
        expect(res.headers['access-control-allow-origin']).to.equal(app);
        expect(listOf(res.headers.vary)).to.include('origin');
        expect(listOf(res.headers['access-control-allow-methods'])).to.include.members(['get', 'post', 'delete']);
        expect(listOf(res.headers['access-control-allow-headers'])).to.include.members(['authorization', 'content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']);
        expect(Number(res.headers['access-control-max-age'])).to.be.greaterThan(0);
        expect(res.headers['access-control-allow-credentials'], 'no cookies are used: credentials are never allowed').to.equal(undefined);
        expect(res.headers['mcp-session-id']).to.equal(undefined);
      }
      expect(authenticated.length, 'authenticate was not called').to.equal(seen);
      expect(await db.store.headPosition(), 'no event appended').to.equal(head);
    });

    it('refuses the preflight of an origin it does not allow: 403 MCP_ORIGIN_FORBIDDEN and no CORS headers', async () => {
      const error = expectRefused(await preflight('https://evil.example'), 'MCP_ORIGIN_FORBIDDEN');
      expect(error.message).to.include('https://evil.example');
      expectRefused(await preflight('null'), 'MCP_ORIGIN_FORBIDDEN');
    });

    it('a real initialize from the allowed origin exposes mcp-session-id to the page; its session answers with the same headers', async () => {
      const init = await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin: app }, initialize);
      expect(init.status, init.body).to.equal(200);
      expect(init.headers['mcp-session-id']).to.be.a('string');
      expect(init.headers['access-control-allow-origin']).to.equal(app);
      expect(listOf(init.headers.vary)).to.include('origin');
      expect(listOf(init.headers['access-control-expose-headers'])).to.include('mcp-session-id');
      expect(init.headers['access-control-allow-credentials']).to.equal(undefined);
      const sid = String(init.headers['mcp-session-id']);
      const session = { authorization: 'Bearer key-acme-alice', origin: app, 'mcp-session-id': sid };
      const initialized = await send(url, 'POST', session, { jsonrpc: '2.0', method: 'notifications/initialized' });
      expect(initialized.status).to.equal(202);
      expect(initialized.headers['access-control-allow-origin']).to.equal(app);
      const list = await send(url, 'POST', session, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      expect(list.status, list.body).to.equal(200);
      expect(list.headers['access-control-allow-origin']).to.equal(app);
      // The GET stream is the SDK's own response: it carries them too.
      const stream = await send(url, 'GET', { ...session, accept: 'text/event-stream' });
      expect(stream.status).to.equal(200);
      expect(stream.headers['access-control-allow-origin']).to.equal(app);
      const end = await send(url, 'DELETE', session);
      expect(end.status).to.equal(200);
      expect(end.headers['access-control-allow-origin']).to.equal(app);
    });

    it('a 401 reaches the page readable (its origin allowed, WWW-Authenticate exposed); no CORS headers without an Origin', async () => {
      const res = await send(url, 'POST', { origin: app }, initialize);
      expect(res.status).to.equal(401);
      expect(res.headers['access-control-allow-origin']).to.equal(app);
      expect(listOf(res.headers['access-control-expose-headers'])).to.include('www-authenticate');
      const program = await send(url, 'POST', { authorization: 'Bearer key-acme-alice' }, initialize);
      expect(program.status).to.equal(200);
      expect(corsHeadersOf(program)).to.deep.equal([]);
    });

    it('echoes the origin even with MCP_ALLOWED_ORIGINS=*, never "*"', async () => {
      const any = await serve({ loopback: true, allowedOrigins: '*' });
      const res = await send(any.url, 'OPTIONS', { origin: 'https://other.example', 'access-control-request-method': 'POST' });
      expect(res.status).to.equal(204);
      expect(res.headers['access-control-allow-origin']).to.equal('https://other.example');
    });
  });

  it('MCP_ALLOWED_ORIGINS=*: any origin passes (unsafe), the Host check stays', async () => {
    const { url, port } = await serve({ loopback: true, allowedOrigins: '*' });
    const res = await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin: 'https://evil.example' }, initialize);
    expect(res.status, res.body).to.equal(200);
    expectRefused(await send(url, 'POST', { authorization: 'Bearer key-acme-alice', host: `evil.example:${port}`, origin: 'https://evil.example' }, initialize), 'MCP_HOST_FORBIDDEN');
  });

  it('listening on all interfaces: any Host by default (proxies, container names), Origin still checked; MCP_ALLOWED_HOSTS turns the Host check on', async () => {
    const open = await serve({ loopback: false });
    const proxied = await send(open.url, 'POST', { authorization: 'Bearer key-acme-alice', host: 'mcp.example.com', origin: 'https://mcp.example.com' }, initialize);
    expect(proxied.status, proxied.body).to.equal(200);
    expectRefused(await send(open.url, 'POST', { authorization: 'Bearer key-acme-alice', host: 'mcp.example.com', origin: 'https://evil.example' }, initialize), 'MCP_ORIGIN_FORBIDDEN');

    const named = await serve({ loopback: false, allowedHosts: ['mcp.example.com'] });
    const ok = await send(named.url, 'POST', { authorization: 'Bearer key-acme-alice', host: 'mcp.example.com', origin: 'https://mcp.example.com' }, initialize);
    expect(ok.status, ok.body).to.equal(200);
    const local = await send(named.url, 'POST', { authorization: 'Bearer key-acme-alice', host: `127.0.0.1:${named.port}` }, initialize);
    expect(local.status, 'loopback names are always answered').to.equal(200);
    expectRefused(await send(named.url, 'POST', { authorization: 'Bearer key-acme-alice', host: 'evil.example' }, initialize), 'MCP_HOST_FORBIDDEN');
  });

  it('with a session directory: a refused initialize records no session in it', async () => {
    const writes: string[] = [];
    const memory = new MemoryCache(1000);
    // The real in-memory directory, its writes noted.
    const cache = new Proxy(memory, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (prop === 'set' || prop === 'setIfAbsent') writes.push(String(args[0]));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { url } = await serve({ loopback: true }, { cache });
    expectRefused(await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin: 'https://evil.example' }, initialize), 'MCP_ORIGIN_FORBIDDEN');
    expect(writes, 'nothing written to the session directory').to.deep.equal([]);
    const res = await send(url, 'POST', { authorization: 'Bearer key-acme-alice' }, initialize);
    expect(res.status).to.equal(200);
    expect(writes).to.deep.equal([`mcp-session:${res.headers['mcp-session-id']}`]);
  });

  it('without an origin policy the plugin still refuses foreign origins (same-origin pages only)', async () => {
    const { url, port } = await serve(undefined);
    expectRefused(await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin: 'https://evil.example' }, initialize), 'MCP_ORIGIN_FORBIDDEN');
    const own = await send(url, 'POST', { authorization: 'Bearer key-acme-alice', origin: `http://127.0.0.1:${port}` }, initialize);
    expect(own.status, own.body).to.equal(200);
  });
});
