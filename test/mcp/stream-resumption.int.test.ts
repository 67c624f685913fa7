import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { endConnectionsOnClose } from '../../src/api/end-connections-on-close';
import { eventStreamsOf } from '../../src/http/event-streams';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { startGatewayHttp, trivialAuth } from './support/clients';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };
const AUTH = { authorization: 'Bearer key-acme-alice' };

/**
 * A fetch that cuts the SSE answer of the first POST carrying `marker` right after its first
 * chunk (the priming event, sent at once): the client's connection drops mid-call, as a proxy's
 * idle timeout or a network change drops it.
 */
function cuttingFetch(marker: string): { fetch: typeof fetch; cut: () => boolean; gets: string[] } {
  let done = false;
  const gets: string[] = [];
  const cutting: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(init?.headers);
    if (init?.method === 'GET') gets.push(headers.get('last-event-id') ?? '');
    const body = typeof init?.body === 'string' ? init.body : '';
    if (done || init?.method !== 'POST' || !body.includes(marker) || !res.headers.get('content-type')?.startsWith('text/event-stream')) return res;
    done = true;
    const reader = res.body!.getReader();
    let passed = false;
    const cut = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (passed) {
          await reader.cancel();
          controller.error(new TypeError('connection dropped (test)'));
          return;
        }
        const { value, done: ended } = await reader.read();
        if (ended) return controller.close();
        controller.enqueue(value);
        passed = true;
      },
    });
    return new Response(cut, { status: res.status, headers: res.headers });
  };
  return { fetch: cutting, cut: () => done, gets };
}

/**
 * Streamable HTTP resumability: a client whose SSE answer drops mid-call takes it up again with a
 * GET carrying `Last-Event-ID` and gets the call's result, which is not run again nor recorded
 * twice. Driven by the MCP SDK's own client, which reconnects so by itself.
 */
describe('/mcp stream resumption (Last-Event-ID)', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let http: { app: FastifyInstance; url: string };

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, callTimeoutMs: 15_000 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    await gateway.registerServer({ tenant: 'acme', actor, name: 'beh', transport: 'http', url: upstream.url });
    http = await startGatewayHttp(gateway);
  });

  after(async function () {
    // The client's connection pool keeps sockets it opened for requests aborted as it closed, on
    // which nothing was ever sent; the HTTP server's close would wait for them (headersTimeout).
    http?.app.server.closeAllConnections();
    await http?.app.close();
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  /** The tool call streams (requested, then outcome) whose arguments name `id`. */
  async function recorded(id: string): Promise<RecordedEvent[]> {
    const all = await db.store.readAll({ limit: 10_000 });
    const streams = new Set(all.filter((e) => e.stream.startsWith('toolcall-') && JSON.stringify(e.data).includes(`\\"id\\":\\"${id}\\"`)).map((e) => e.stream));
    return all.filter((e) => streams.has(e.stream));
  }

  async function client(f: typeof fetch, reconnectMs: number): Promise<Client> {
    const c = new Client({ name: 'resuming', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(http.url), {
      requestInit: { headers: AUTH },
      fetch: f,
      reconnectionOptions: { initialReconnectionDelay: reconnectMs, maxReconnectionDelay: reconnectMs, reconnectionDelayGrowFactor: 1, maxRetries: 3 },
    });
    await c.connect(transport);
    return c;
  }

  for (const [when, holdMs, reconnectMs] of [
    ['while the call still runs (the rest comes live)', 1_500, 100],
    ['after the call has ended (its result replayed)', 50, 800],
  ] as const) {
    it(`resumes a tools/call whose SSE answer dropped ${when}, running and recording it once`, async function () {
      const id = `resume-${holdMs}`;
      const cutter = cuttingFetch(id);
      const c = await client(cutter.fetch, reconnectMs);
      try {
        // A progress token makes the answer an SSE stream for the SDK's client (it takes both).
        const result = await c.callTool({ name: 'beh__hold', arguments: { id, ms: holdMs }, _meta: { progressToken: id } });
        expect(cutter.cut(), 'the answer was cut').to.equal(true);
        expect(cutter.gets.filter((g) => g !== ''), 'resumed with Last-Event-ID').to.have.length(1);
        expect(result.content).to.deep.equal([{ type: 'text', text: `held ${id}` }]);
        expect(upstream.started.filter((s) => s === id)).to.have.length(1);
        const events = await recorded(id);
        expect(new Set(events.map((e) => e.stream)).size, 'one call recorded').to.equal(1);
        expect(events.filter((e) => e.revision === 1), 'one outcome').to.have.length(1);
      } finally {
        await c.close();
      }
    });
  }

  /** A raw session of protocol 2025-11-25 (priming events). */
  async function rawSession(url = http.url, auth: Record<string, string> = AUTH): Promise<Record<string, string>> {
    const AUTH = auth;
    const init = await fetch(url, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    expect(init.status).to.equal(200);
    await init.text();
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    const ok = await fetch(url, { method: 'POST', headers: { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    expect(ok.status).to.equal(202);
    return session;
  }

  /**
   * A `beh__hold` tools/call (JSON-RPC id `rpcId`, holding `ms`) on a new raw session whose SSE
   * answer the client drops right after its priming event, the call still running: the session,
   * the headers of its POSTs and the priming event's id, to resume from.
   */
  async function droppedHoldCall(rpcId: number, id: string, ms: number, progressToken: string): Promise<{ session: Record<string, string>; headers: Record<string, string>; priming: string }> {
    const session = await rawSession();
    const headers = { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const ac = new AbortController();
    const call = await fetch(http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: rpcId, method: 'tools/call', params: { name: 'beh__hold', arguments: { id, ms }, _meta: { progressToken } } }),
      signal: ac.signal,
    });
    const reader = call.body!.pipeThrough(new TextDecoderStream()).getReader();
    let first = '';
    while (!first.includes('\n\n')) first += (await reader.read()).value ?? '';
    const priming = /^id: (.+)$/m.exec(first)![1];
    ac.abort();
    await reader.cancel().catch(() => {});
    return { session, headers, priming };
  }

  it('replays an ended SSE answer to a GET with the id of its priming event, then ends the stream', async function () {
    const session = await rawSession();
    const call = await fetch(http.url, {
      method: 'POST',
      headers: { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 2 }, _meta: { progressToken: 'p' } } }),
    });
    const text = await call.text();
    const ids = [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
    expect(ids.length, text).to.be.at.least(3);
    expect(text.startsWith(`id: ${ids[0]}\ndata: \n\n`), 'opens with a priming event (2025-11-25)').to.equal(true);
    const resumed = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': ids[0] } });
    expect(resumed.status).to.equal(200);
    expect(resumed.headers.get('content-type')).to.match(/^text\/event-stream/);
    const replay = await resumed.text();
    expect([...replay.matchAll(/^id: (.+)$/gm)].map((m) => m[1])).to.deep.equal(ids.slice(1));
    expect(replay).to.include('"id":7');
  });

  it('answers a resumed answer whose call the client cancelled with the cancellation error (docs/errors.md), the stream then ended', async function () {
    const { session, headers, priming } = await droppedHoldCall(9, 'cancel-resumed', 10_000, 'c');
    const cancelled = await fetch(http.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } }) });
    expect(cancelled.status).to.equal(202);
    const resumed = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': priming }, signal: AbortSignal.timeout(5_000) });
    const text = await resumed.text();
    const answers = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]) as { id: number; error?: { code: number; data?: { code: string } } });
    expect(answers, text).to.have.length(1);
    expect(answers[0].id).to.equal(9);
    expect(answers[0].error!.code).to.equal(-32800);
    expect(answers[0].error!.data!.code).to.equal('MCP_CALL_CANCELLED');
    expect(text, 'the event has an id, as every other').to.match(/^id: .+$/m);
  });

  it("answers a resume of a call still running, with nothing to replay yet, at once: its head was held until the call's next event (here its end, at the call timeout)", async function () {
    const { session, headers, priming } = await droppedHoldCall(41, 'resumed-quiet', 60_000, 'q');
    const resumed = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': priming } });
    expect(resumed.status).to.equal(200);
    // Cancelled while it still runs (no timeout has ended it): the stream ends, no response sent
    // (the client cancelled it); one more resume is told so.
    const cancelled = await fetch(http.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 41 } }) });
    expect(cancelled.status).to.equal(202);
    expect(await resumed.text()).to.equal(': resumed\n\n');
    const again = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': priming }, signal: AbortSignal.timeout(5_000) });
    const text = await again.text();
    expect(text, text).to.match(/"id":41,"error":\{"code":-32800/);
  });

  it("keeps a tenant's answers replayable while another tenant floods the replica's log with its own", async function () {
    await gateway.registerServer({ tenant: 'globex', actor, name: 'beh', transport: 'http', url: upstream.url });
    const small = await startGatewayHttp(gateway, { replayWindow: { bytes: 8_000 } });
    try {
      /** An SSE answer of a tools/call on `session` of `auth`: its text. */
      const call = async (auth: Record<string, string>, session: Record<string, string>, id: number, steps: number) => {
        const res = await fetch(small.url, {
          method: 'POST',
          headers: { ...auth, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps, everyMs: 0 }, _meta: { progressToken: `p${id}` } } }),
        });
        return res.text();
      };
      const GLOBEX = { authorization: 'Bearer key-globex-bob' };
      const theirs = await rawSession(small.url, GLOBEX);
      const ids = [...(await call(GLOBEX, theirs, 7, 2)).matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
      const flooding = await rawSession(small.url);
      for (let i = 0; i < 6; i++) await call(AUTH, flooding, 100 + i, 20);
      const resumed = await fetch(small.url, { headers: { ...GLOBEX, ...theirs, accept: 'text/event-stream', 'last-event-id': ids[0] }, signal: AbortSignal.timeout(5_000) });
      const replay = await resumed.text();
      expect([...replay.matchAll(/^id: (.+)$/gm)].map((m) => m[1])).to.deep.equal(ids.slice(1));
    } finally {
      small.app.server.closeAllConnections();
      await small.app.close();
    }
  });

  it('keeps nothing for the GET stream of sessions that have none here (JSON-only clients): their list_changed do not evict answers', async function () {
    await gateway.registerServer({ tenant: 'initech', actor, name: 'beh', transport: 'http', url: upstream.url });
    const small = await startGatewayHttp(gateway, { replayWindow: { bytes: 2_000 } });
    try {
      const INITECH = { authorization: 'Bearer key-initech-carol' };
      const mine = await rawSession(small.url, INITECH);
      const res = await fetch(small.url, {
        method: 'POST',
        headers: { ...INITECH, ...mine, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 1 }, _meta: { progressToken: 'q' } } }),
      });
      const ids = [...(await res.text()).matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
      // Sessions that never open a GET stream (curl, JSON-only clients), each told its tools changed.
      for (let i = 0; i < 40; i++) await rawSession(small.url, INITECH);
      await gateway.registerServer({ tenant: 'initech', actor, name: 'beh2', transport: 'http', url: upstream.url });
      await rawSession(small.url, INITECH);
      const resumed = await fetch(small.url, { headers: { ...INITECH, ...mine, accept: 'text/event-stream', 'last-event-id': ids[0] }, signal: AbortSignal.timeout(5_000) });
      expect([...(await resumed.text()).matchAll(/^id: (.+)$/gm)].map((m) => m[1])).to.deep.equal(ids.slice(1));
    } finally {
      small.app.server.closeAllConnections();
      await small.app.close();
    }
  });

  /** The ids of an SSE text's events, in order (a priming event's included). */
  const idsOf = (text: string): string[] => [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);

  it("resumes an SSE-only client's initialize and batch answers (written whole at once) with Last-Event-ID", async function () {
    const SSE_ONLY = { ...AUTH, 'content-type': 'application/json', accept: 'text/event-stream' };
    const init = await fetch(http.url, {
      method: 'POST',
      headers: SSE_ONLY,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'sse-only', version: '1' } } }),
    });
    const initText = await init.text();
    const initIds = idsOf(initText);
    expect(initIds, initText).to.have.length(2);
    expect(initText.startsWith(`id: ${initIds[0]}\ndata: \n\n`), 'opens with a priming event (2025-11-25)').to.equal(true);
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    const resumedInit = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': initIds[0] }, signal: AbortSignal.timeout(5_000) });
    const replayedInit = await resumedInit.text();
    expect(idsOf(replayedInit)).to.deep.equal(initIds.slice(1));
    expect(replayedInit).to.include('"protocolVersion":"2025-11-25"');
    expect((await fetch(http.url, { method: 'POST', headers: { ...SSE_ONLY, ...session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).to.equal(202);
    const batch = await fetch(http.url, {
      method: 'POST',
      headers: { ...SSE_ONLY, ...session },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { jsonrpc: '2.0', id: 3, method: 'ping' }]),
    });
    const batchText = await batch.text();
    const batchIds = idsOf(batchText);
    expect(batchIds, batchText).to.have.length(3);
    const resumedBatch = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': batchIds[1] }, signal: AbortSignal.timeout(5_000) });
    const replayedBatch = await resumedBatch.text();
    expect(idsOf(replayedBatch)).to.deep.equal(batchIds.slice(2));
    expect(batchText.endsWith(replayedBatch), 'the events after it, as sent').to.equal(true);
  });

  describe('while the replica drains (SIGTERM)', () => {
    let draining = false;
    let drainApp: FastifyInstance;
    let drainUrl: string;

    before(async () => {
      drainApp = Fastify();
      // As buildApp does, before the plugins: the process's drain flag decides too.
      eventStreamsOf(drainApp, () => draining);
      await drainApp.register(mcpGatewayPlugin, { gateway, authenticate: trivialAuth });
      drainUrl = `${await drainApp.listen({ host: '127.0.0.1', port: 0 })}/mcp`;
    });
    after(async () => {
      drainApp?.server.closeAllConnections();
      await drainApp?.close();
    });
    afterEach(() => (draining = false));

    it('replays an SSE answer it holds (no other replica does), and ends the GET stream as any other opened then', async function () {
      const session = await rawSession(drainUrl);
      const call = await fetch(drainUrl, {
        method: 'POST',
        headers: { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 2 }, _meta: { progressToken: 'd' } } }),
      });
      const ids = idsOf(await call.text());
      draining = true;
      const resumed = await fetch(drainUrl, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': ids[0] }, signal: AbortSignal.timeout(5_000) });
      const replay = await resumed.text();
      expect(idsOf(replay), replay).to.deep.equal(ids.slice(1));
      expect(replay).to.include('"id":11');
      // The GET stream, and a resume of nothing held here (it would open one), go elsewhere.
      for (const last of [{}, { 'last-event-id': 'elsewhere-42' }] as Record<string, string>[]) {
        const get = await fetch(drainUrl, { headers: { ...AUTH, ...session, accept: 'text/event-stream', ...last }, signal: AbortSignal.timeout(5_000) });
        expect(get.headers.get('connection')).to.equal('close');
        expect(await get.text()).to.match(/^: this replica is shutting down/);
      }
    });

    it("replays nothing of another session's answers (another tenant's, or the caller's own other session): a resume with their event id goes elsewhere", async function () {
      const GLOBEX = { authorization: 'Bearer key-globex-bob' };
      await gateway.registerServer({ tenant: 'globex', actor, name: 'beh', transport: 'http', url: upstream.url }).catch(() => {});
      const theirs = await rawSession(drainUrl, GLOBEX);
      const call = await fetch(drainUrl, {
        method: 'POST',
        headers: { ...GLOBEX, ...theirs, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify([{ jsonrpc: '2.0', id: 21, method: 'tools/list' }, { jsonrpc: '2.0', id: 22, method: 'ping' }]),
      });
      const theirIds = idsOf(await call.text());
      expect(theirIds).to.have.length(3);
      const mine = await rawSession(drainUrl);
      const myOther = await rawSession(drainUrl);
      const myCall = await fetch(drainUrl, {
        method: 'POST',
        headers: { ...AUTH, ...myOther, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 23, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 1 }, _meta: { progressToken: 'o' } } }),
      });
      const myOtherIds = idsOf(await myCall.text());
      draining = true;
      for (const last of [theirIds[0], myOtherIds[0]]) {
        const get = await fetch(drainUrl, { headers: { ...AUTH, ...mine, accept: 'text/event-stream', 'last-event-id': last }, signal: AbortSignal.timeout(5_000) });
        const text = await get.text();
        expect(text, text).to.match(/^: this replica is shutting down/);
        expect(text).to.not.include('"id":2');
      }
    });

    it('a resumed answer whose call still runs ends at the cut-off (endInFlight), so HTTP closes: a drain never outlasts it', async function () {
      const own = await openTempSqliteStore();
      const gw = new McpGateway({ store: own.store, upstream: { healthIntervalMs: 0, callTimeoutMs: 15_000 } });
      await gw.start();
      await gw.registerServer({ tenant: 'acme', actor, name: 'beh', transport: 'http', url: upstream.url });
      const app = Fastify();
      let closing = false;
      // As buildApp does: the connections of answers in flight end with them once HTTP closes.
      endConnectionsOnClose(app);
      eventStreamsOf(app, () => closing);
      await app.register(mcpGatewayPlugin, { gateway: gw, authenticate: trivialAuth });
      const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/mcp`;
      // The connection the resumed answer goes on closes once it is answered (HTTP closing).
      let resumedConnectionClosed: Promise<void> | undefined;
      app.server.on('request', (req: IncomingMessage) => {
        if (req.headers['last-event-id']) resumedConnectionClosed = new Promise((done) => req.socket.once('close', () => done()));
      });
      /** Read `res`'s SSE text until `until` shows in it. */
      const readUntil = async (reader: ReadableStreamDefaultReader<string>, until: RegExp) => {
        let text = '';
        while (!until.test(text)) text += (await reader.read()).value ?? '';
        return text;
      };
      try {
        const session = await rawSession(url);
        const dropped = new AbortController();
        // Far longer than the test may run: only the cut-off ends it.
        const call = await fetch(url, {
          method: 'POST',
          headers: { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 31, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 1000, everyMs: 200 }, _meta: { progressToken: 'c' } } }),
          signal: dropped.signal,
        });
        const first = call.body!.pipeThrough(new TextDecoderStream()).getReader();
        const priming = idsOf(await readUntil(first, /^id: .+$/m))[0];
        dropped.abort();
        await first.cancel().catch(() => {});
        closing = true;
        const resumed = await fetch(url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': priming } });
        expect(resumed.status).to.equal(200);
        const reader = resumed.body!.pipeThrough(new TextDecoderStream()).getReader();
        let text = await readUntil(reader, /notifications\/progress/);
        // HTTP begins to close (the drain's closeAll) while the resumed answer is open; the cut-off ends its call.
        const closed = app.close();
        gw.endInFlight();
        for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
        expect(text).to.match(/"id":31,"error":\{[^\n]*DEPENDENCY_UNAVAILABLE/);
        await resumedConnectionClosed;
        // What is left is a socket the test's client opened and never sent a request on (as in after()).
        app.server.closeAllConnections();
        await closed;
      } finally {
        app.server.closeAllConnections();
        await app.close();
        await gw.close();
        await own.cleanup();
      }
    });
  });

  it('opens a fresh GET stream for a Last-Event-ID it does not hold (expired, or sent by another replica)', async function () {
    const session = await rawSession();
    const ac = new AbortController();
    const res = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', 'last-event-id': 'elsewhere-42' }, signal: ac.signal });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    ac.abort();
  });

  it('replays the GET stream: log messages sent while it was down come on the GET resuming it', async function () {
    const session = await rawSession();
    const headers = { ...AUTH, ...session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const rpc = async (id: number, method: string, params: object) => {
      const res = await fetch(http.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
      expect(res.status).to.equal(200);
      return res.text();
    };
    await rpc(1, 'logging/setLevel', { level: 'debug' });
    /** Open the GET stream (resuming after `last` if given); `read` reads it until `until` shows, then drops it. */
    const openGet = async (last?: string) => {
      const ac = new AbortController();
      const res = await fetch(http.url, { headers: { ...AUTH, ...session, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) }, signal: ac.signal });
      expect(res.status).to.equal(200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      return async (until: string): Promise<{ text: string; lastId: string }> => {
        let text = '';
        while (!text.includes(until)) text += (await reader.read()).value ?? '';
        ac.abort();
        await reader.cancel().catch(() => {});
        const ids = [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
        return { text, lastId: ids[ids.length - 1] };
      };
    };
    const first = await openGet();
    await rpc(2, 'tools/call', { name: 'beh__progress', arguments: { steps: 1 } });
    const { lastId } = await first('"step 1"');
    expect(lastId).to.be.a('string');
    // The stream is down: this call's log messages are kept for the client.
    await rpc(3, 'tools/call', { name: 'beh__progress', arguments: { steps: 3 } });
    const resumed = await (await openGet(lastId))('"step 3"');
    expect(resumed.text).to.include('"step 1"').and.to.include('"step 2"');
  });
});
