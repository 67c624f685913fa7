import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { MemoryCache } from '../../src/cache/memory';
import { McpGateway } from '../../src/mcp/gateway';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

/** How /mcp sessions end: the per-identity and per-tenant bounds, and DELETE as real SDK clients send it. */
describe('/mcp session lifecycle', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let http: { app: FastifyInstance; url: string };
  const clients: Client[] = [];

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    http = await startGatewayHttp(gateway, { maxSessionsPerIdentity: 2 });
  });

  after(async function () {
    for (const c of clients) await c.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    await db?.cleanup();
  });

  async function open(key: string): Promise<Client> {
    const c = await httpClient(http.url, key);
    clients.push(c);
    return c;
  }

  const status = (p: Promise<unknown>) => p.then(() => 200, (err: unknown) => (err instanceof StreamableHTTPError ? err.code : String(err)));

  it("bounds one identity's sessions, ending its least recently used (404), not anyone else's", async function () {
    const first = await open('key-acme-alice');
    const second = await open('key-acme-alice');
    const bob = await open('key-acme-bob');
    await first.ping();
    await new Promise((r) => setTimeout(r, 5));
    await second.ping();
    await new Promise((r) => setTimeout(r, 5));
    const third = await open('key-acme-alice');
    expect(await status(first.ping()), 'the least recently used').to.equal(404);
    expect(await status(second.ping())).to.equal(200);
    expect(await status(third.ping())).to.equal(200);
    expect(await status(bob.ping()), "another identity's").to.equal(200);
  });

  it("bounds one tenant's sessions across its identities, ending the tenant's least recently used (404 MCP_SESSION_NOT_FOUND), not another tenant's", async function () {
    const bounded = await startGatewayHttp(gateway, { maxSessionsPerTenant: 3 });
    const own: Client[] = [];
    const openHere = async (key: string) => {
      const c = await httpClient(bounded.url, key);
      own.push(c);
      return c;
    };
    try {
      const alice = await openHere('key-acme-alice');
      const bob = await openHere('key-acme-bob');
      const carol = await openHere('key-acme-carol');
      const other = await openHere('key-globex-alice');
      for (const c of [alice, bob, carol]) {
        await c.ping();
        await new Promise((r) => setTimeout(r, 5));
      }
      const dave = await openHere('key-acme-dave');
      const sid = (alice.transport as StreamableHTTPClientTransport).sessionId!;
      const err = await alice.ping().then(() => null, (e: unknown) => e);
      expect(err, "the tenant's least recently used").to.be.instanceOf(StreamableHTTPError);
      expect((err as StreamableHTTPError).code).to.equal(404);
      expect((err as Error).message, 'the SDK client reports the body').to.include('MCP_SESSION_NOT_FOUND');
      const res = await fetch(bounded.url, {
        method: 'POST',
        headers: { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      expect(res.status).to.equal(404);
      expect(await res.json()).to.deep.equal({ jsonrpc: '2.0', error: { code: -32001, message: 'session not found (ended: idle, deleted, or over its limits; or never opened here): send initialize again for a new one', data: { code: 'MCP_SESSION_NOT_FOUND' } }, id: null });
      for (const c of [bob, carol, dave]) expect(await status(c.ping())).to.equal(200);
      expect(await status(other.ping()), "another tenant's").to.equal(200);
      const again = await openHere('key-acme-alice');
      expect(await status(again.ping()), 'the ended client initializes again').to.equal(200);
      expect(await status(bob.ping()), 'which ends the next least recently used').to.equal(404);
    } finally {
      for (const c of own) await c.close().catch(() => {});
      await bounded.app.close();
    }
  });

  it('ends the session the tenant bound drops in the session directory too: no other replica adopts it', async function () {
    const cache = new MemoryCache();
    const [a, b] = [await startGatewayHttp(gateway, { cache, maxSessionsPerTenant: 1 }), await startGatewayHttp(gateway, { cache, maxSessionsPerTenant: 1 })];
    const own: Client[] = [];
    try {
      const first = await httpClient(a.url, 'key-acme-alice');
      own.push(first);
      const sid = (first.transport as StreamableHTTPClientTransport).sessionId!;
      const ping = (url: string) =>
        fetch(url, {
          method: 'POST',
          headers: { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
      own.push(await httpClient(a.url, 'key-acme-bob'));
      expect((await ping(a.url)).status, 'ended where the bound was passed').to.equal(404);
      expect((await ping(b.url)).status, 'and gone from the session directory: no other replica adopts it').to.equal(404);
    } finally {
      for (const c of own) await c.close().catch(() => {});
      await a.app.close();
      await b.app.close();
    }
  });

  it('ends a session on DELETE from a client that sends content-type on every request', async function () {
    const transport = new StreamableHTTPClientTransport(new URL(http.url), {
      requestInit: { headers: { authorization: 'Bearer key-acme-carol', 'content-type': 'application/json' } },
    });
    const c = new Client({ name: 'test-client', version: '1.0.0' });
    await c.connect(transport);
    clients.push(c);
    const sid = transport.sessionId!;
    await transport.terminateSession();
    const res = await fetch(http.url, {
      method: 'POST',
      headers: { authorization: 'Bearer key-acme-carol', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status, 'the session is gone').to.equal(404);
  });
  it('closes while a client holds its GET stream open: the stream is ended, shutdown does not wait for the client', async function () {
    const own = await startGatewayHttp(gateway);
    const c = await httpClient(own.url, 'key-acme-dave');
    clients.push(c);
    await c.ping();
    // The SDK client opens its GET stream once initialized; give it the moment it takes.
    await new Promise((r) => setTimeout(r, 500));
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      own.app.close().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 8_000))),
    ]);
    clearTimeout(timer);
    expect(closed, 'app.close() waited on the open GET stream').to.equal(true);
  });
});
