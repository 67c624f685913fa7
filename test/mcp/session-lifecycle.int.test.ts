import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

/** How /mcp sessions end: the per-identity bound, and DELETE as real SDK clients send it. */
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
