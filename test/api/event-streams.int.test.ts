import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { request, type IncomingMessage } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { eventStreamsOf } from '../../src/http/event-streams';
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
 * (and the drain's steps after HTTP) waited for it until SHUTDOWN_DEADLINE_MS. Now refused (the
 * dashboard's 503, /mcp's stream that ends at once; `Connection: close`), and the close completes.
 * The key check is held by the test, not timed.
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

  /** An MCP GET stream refused as the SDK's client takes it best: one that ends at once (it reopens it, on another connection). */
  function expectEndedStream(res: IncomingMessage, body: string): void {
    expect(res.statusCode, body).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/event-stream/);
    expect(res.headers.connection).to.equal('close');
    expect(body).to.match(/^: this replica is shutting down/);
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

  it('an MCP GET stream: a stream that ends at once, with Connection: close, and the close completes (the stream opened and held it)', async () => {
    const session = await mcpSession();
    const { res, body } = await openWhileClosing(() => send('GET', '/mcp', { ...session, accept: 'text/event-stream' }));
    expectEndedStream(res, await body);
    expect(await settles(closed!), 'the close waited for the stream').to.equal(true);
  });

  it('while the process drains, before HTTP closes: streams are refused the same way, other requests are answered', async () => {
    const session = await mcpSession();
    draining = true;
    const ui = await send('GET', '/ui/api/stream', { authorization: 'Bearer key-acme-op' });
    expect(ui.res.statusCode).to.equal(503);
    expect(ui.res.headers.connection).to.equal('close');
    const mcp = await send('GET', '/mcp', { ...session, accept: 'text/event-stream' });
    expectEndedStream(mcp.res, await mcp.body);
    const ping = await send('POST', '/mcp', session, { jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(ping.res.statusCode, await ping.body).to.equal(200);
    const config = await send('GET', '/ui/api/config', { authorization: 'Bearer key-acme-op' });
    expect(config.res.statusCode, await config.body).to.equal(200);
  });
  /**
   * The MCP SDK's own client (StreamableHTTPClientTransport): it reopens its GET stream after the
   * stream ends, each time with its retries counted from zero, but it gives a GET answered with
   * an error status only `maxRetries` (2) more tries, and the GET it sends right after initializing
   * none: a 503 there left the session without notifications (list_changed, log messages, the
   * notifications of calls answered as JSON) for the rest of its life, on whatever replica it went on.
   */
  describe('an MCP SDK client against a replica that drains', () => {
    /** The GETs the client sent: their answer's status, and whether the replica drained as each was sent. */
    let gets: { status: number; whileDraining: boolean }[];
    let errors: string[];
    /** Ends the GET stream the client reads last, as a replica ending it would. */
    let endLast: () => void;
    let client: Client | undefined;
    let seen: () => void;

    beforeEach(() => {
      gets = [];
      errors = [];
      endLast = () => {};
      seen = () => {};
    });
    afterEach(async () => {
      await client?.close().catch(() => {});
      client = undefined;
    });

    const observing: FetchLike = async (url, init) => {
      const whileDraining = draining;
      const res = await fetch(url, init);
      if (init?.method !== 'GET') return res;
      gets.push({ status: res.status, whileDraining });
      seen();
      if (!res.ok || !res.body) return res;
      const reader = res.body.getReader();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => void (controller = c),
        pull: async (c) => {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
          try {
            if (done) c.close();
            else c.enqueue(value);
          } catch {
            // Ended by endLast meanwhile.
          }
        },
        cancel: (reason) => reader.cancel(reason),
      });
      endLast = () => {
        controller.close();
        void reader.cancel().catch(() => {});
      };
      return new Response(body, { status: res.status, headers: res.headers });
    };

    async function connect(): Promise<void> {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        fetch: observing,
        requestInit: { headers: { authorization: 'Bearer key-acme-op' } },
        reconnectionOptions: { initialReconnectionDelay: 10, maxReconnectionDelay: 10, reconnectionDelayGrowFactor: 1, maxRetries: 2 },
      });
      transport.onerror = (err) => void errors.push(err.message);
      client = new Client({ name: 't', version: '1' });
      await client.connect(transport);
    }

    /** Whether `ok` holds within 10 s, looked at each time the client's GET is answered or it reports an error. */
    async function eventually(ok: () => boolean): Promise<boolean> {
      const end = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > end) return false;
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 50);
          seen = () => (clearTimeout(timer), r());
        });
      }
      return true;
    }
    const served = () => gets.some((g) => !g.whileDraining && g.status === 200);

    it('a session opened while the replica drains gets its GET stream once a replica serves it (a 503 made the client never ask again)', async () => {
      draining = true;
      await connect();
      expect(await eventually(() => gets.length > 0), 'the GET after initializing').to.equal(true);
      draining = false;
      expect(await eventually(served), `a GET stream served (GETs: ${JSON.stringify(gets)}; errors: ${errors.join('; ')})`).to.equal(true);
    });

    it('a client whose GET stream ends while replicas drain keeps reopening it (two 503s made it give up for good)', async () => {
      await connect();
      expect(await eventually(served), 'the first GET stream').to.equal(true);
      draining = true;
      gets = [];
      endLast();
      // Three tries, one more than the client gives a GET answered with an error, or its giving up.
      await eventually(() => gets.length >= 3 || errors.some((e) => /Maximum reconnection attempts/.test(e)));
      draining = false;
      expect(await eventually(served), `a GET stream served again (GETs: ${JSON.stringify(gets)}; errors: ${errors.join('; ')})`).to.equal(true);
    });
  });
});

describe('eventStreamsOf', () => {
  it('does not keep a stream whose client left before it was admitted: its end is not called as HTTP closes', async () => {
    const app = Fastify();
    const streams = eventStreamsOf(app);
    let ended = 0;
    let entered!: () => void;
    const inRoute = new Promise<void>((r) => (entered = r));
    let admitted!: () => void;
    const done = new Promise<void>((r) => (admitted = r));
    app.get('/stream', async (request, reply) => {
      // The client leaves while the request is authenticated (here: awaited until it has).
      const left = new Promise((r) => reply.raw.once('close', r));
      entered();
      await left;
      expect(streams.admit(reply.raw, () => void ended++)).to.equal(true);
      admitted();
      reply.hijack();
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const req = request(`${base}/stream`, { agent: false });
      req.once('error', () => {});
      req.end();
      await inRoute;
      req.destroy();
      await done;
    } finally {
      await app.close();
    }
    expect(ended, 'end called for a response closed before it was admitted').to.equal(0);
  });
});
