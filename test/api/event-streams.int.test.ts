import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { request, type IncomingMessage } from 'node:http';
import { eventStreamsOf } from '../../src/api/event-streams';
import { UnauthenticatedError } from '../../src/api/errors';
import type { Principal } from '../../src/auth/principal';
import { McpGateway } from '../../src/mcp/gateway';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import type { ReadModels } from '../../src/readmodels/port';
import { uiPlugin } from '../../src/ui';
import { trivialAuth } from '../mcp/support/clients';
import { openTempSqliteStore } from '../mcp/support/stores';

const OPERATOR: Principal = { tenant: 'acme', role: 'operator', actor: { kind: 'user', id: 'op' }, crossTenant: false, via: 'api-key', subject: 'k1' };
const MCP_HEADERS = { authorization: 'Bearer key-acme-op', accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' };

/** An answer's head and whole body. */
type Answer = { res: IncomingMessage; body: Promise<string> };

/**
 * The two event streams (the dashboard's live stream, an MCP client's /mcp GET stream) whose key
 * check was still running when HTTP began to close, as in a drain (SIGTERM): each opened once its
 * check ended, after the close had ended the open streams, and nothing ended it, so the close
 * (and the drain's steps after HTTP) waited for it until SHUTDOWN_DEADLINE_MS. Now refused (503,
 * `Connection: close`), and the close completes. The key check is held by the test, not timed.
 */
describe('event streams whose key check ends after HTTP began to close: refused, and the close does not wait for them', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let app: FastifyInstance;
  let base: string;
  let draining: boolean;
  /** While set, key checks wait for its release; `entered` resolves once one waits. */
  let held: { released: Promise<void>; enter: () => void } | undefined;
  let release: () => void;
  let entered: Promise<void>;
  let closeBegan: Promise<void>;
  let closed: Promise<void> | undefined;

  function holdKeyChecks(): void {
    let enter!: () => void;
    entered = new Promise((r) => (enter = r));
    const released = new Promise<void>((r) => (release = () => ((held = undefined), r())));
    held = { released, enter };
  }
  async function keyCheck(): Promise<void> {
    const h = held;
    if (!h) return;
    h.enter();
    await h.released;
  }

  before(async () => {
    db = await openTempSqliteStore();
  });
  after(async () => {
    await db?.cleanup();
  });
  beforeEach(async () => {
    draining = false;
    held = undefined;
    release = () => {};
    closed = undefined;
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    app = Fastify();
    // As buildApp does, before the plugins: the process's drain flag decides too.
    eventStreamsOf(app, () => draining);
    const uiAuth = async (h: string | undefined) => {
      await keyCheck();
      if (h !== 'Bearer key-acme-op') throw new UnauthenticatedError();
      return OPERATOR;
    };
    await app.register(uiPlugin, { store: db.store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate: uiAuth, heartbeatMs: 60_000 });
    await app.register(mcpGatewayPlugin, {
      gateway,
      authenticate: async (req) => {
        await keyCheck();
        return trivialAuth(req);
      },
    });
    // Registered last, so its preClose runs after every other (fastify runs them in registration order).
    let began!: () => void;
    closeBegan = new Promise((r) => (began = r));
    await app.register(async (last) => last.addHook('preClose', (done) => (began(), done())));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    release();
    // A stream left open (the old behaviour) is cut, so that the next test starts.
    const closing = (closed ??= app.close());
    app.server.closeAllConnections();
    await closing;
    await gateway.close();
  });

  /** A request on a connection of its own; resolves once the answer's head is in. */
  function send(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method, agent: false, headers }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => (text += c));
        resolve({ res, body: new Promise((r) => res.once('end', () => r(text)).once('close', () => r(text))) });
      });
      req.once('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Whether `p` settles within 10 s: without the fix the close waits for the stream as long as its client stays. */
  async function settles(p: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)))]);
    clearTimeout(timer);
    return done;
  }

  async function mcpSession(): Promise<Record<string, string>> {
    const init = await send('POST', '/mcp', MCP_HEADERS, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    expect(init.res.statusCode, await init.body).to.equal(200);
    const session = { ...MCP_HEADERS, 'mcp-session-id': String(init.res.headers['mcp-session-id']) };
    const ack = await send('POST', '/mcp', session, { jsonrpc: '2.0', method: 'notifications/initialized' });
    await ack.body;
    return session;
  }

  /** Sends `open` with its key check held, begins the close, lets the check end once every preClose hook ran; returns the answer. */
  async function openWhileClosing(open: () => Promise<Answer>): Promise<Answer> {
    holdKeyChecks();
    const answer = open();
    await entered;
    closed = app.close();
    await closeBegan;
    release();
    return answer;
  }

  it("the dashboard's live stream: 503 DEPENDENCY_UNAVAILABLE with Connection: close, and the close completes (the stream opened and held it)", async () => {
    const { res, body } = await openWhileClosing(() => send('GET', '/ui/api/stream', { authorization: 'Bearer key-acme-op' }));
    expect(res.statusCode).to.equal(503);
    expect(res.headers.connection).to.equal('close');
    expect(JSON.parse(await body).code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(await settles(closed!), 'the close waited for the stream').to.equal(true);
  });

  it('an MCP GET stream: 503 DEPENDENCY_UNAVAILABLE with Retry-After and Connection: close, and the close completes (the stream opened and held it)', async () => {
    const session = await mcpSession();
    const { res, body } = await openWhileClosing(() => send('GET', '/mcp', { ...session, accept: 'text/event-stream' }));
    expect(res.statusCode).to.equal(503);
    expect(res.headers.connection).to.equal('close');
    expect(res.headers['retry-after']).to.equal('1');
    expect(JSON.parse(await body).error.data.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(await settles(closed!), 'the close waited for the stream').to.equal(true);
  });

  it('while the process drains, before HTTP closes: streams are refused the same way, other requests are answered', async () => {
    const session = await mcpSession();
    draining = true;
    const ui = await send('GET', '/ui/api/stream', { authorization: 'Bearer key-acme-op' });
    expect(ui.res.statusCode).to.equal(503);
    expect(ui.res.headers.connection).to.equal('close');
    const mcp = await send('GET', '/mcp', { ...session, accept: 'text/event-stream' });
    expect(mcp.res.statusCode).to.equal(503);
    expect(mcp.res.headers.connection).to.equal('close');
    expect(mcp.res.headers['retry-after']).to.equal('1');
    const ping = await send('POST', '/mcp', session, { jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(ping.res.statusCode, await ping.body).to.equal(200);
    const config = await send('GET', '/ui/api/config', { authorization: 'Bearer key-acme-op' });
    expect(config.res.statusCode, await config.body).to.equal(200);
  });
});
