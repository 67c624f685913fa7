import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type LoggingMessageNotification, type TextContent } from '@modelcontextprotocol/sdk/types.js';
import { MemoryCache } from '../../src/cache/memory';
import type { Cache } from '../../src/cache/port';
import { RedisCache } from '../../src/cache/redis';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { SqlEventStore } from '../../src/eventstore/sql/sql-event-store';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { loadLogLevel, loadSession } from '../../src/mcp/session-directory';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { startGatewayHttp } from './support/clients';
import { loggingServer } from './support/logging';
import { until } from './support/until';

/** `until`, waiting longer by default: these wait on other processes. */
const eventually = (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => until(what, check, ms);

const alice = { kind: 'user' as const, id: 'alice' };
const ADOPTED = 'mcp session adopted from the session directory';
// Short, so that a replica holding a session deleted elsewhere notices within the test.
const REFRESH_MS = 150;

type Http = { app: FastifyInstance; url: string };

/** Two gateways on one SQLite log through separate connections, as two replicas share it. */
async function openReplicaPair(): Promise<{ a: McpGateway; b: McpGateway; storeA: SqlEventStore; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-sessions-'));
  const url = `sqlite:${join(dir, 'events.db')}`;
  const storeA = await openSqlEventStore(url, { pollIntervalMs: 50 });
  const storeB = await openSqlEventStore(url, { pollIntervalMs: 50 });
  const a = new McpGateway({ store: storeA, upstream: { healthIntervalMs: 0 } });
  const b = new McpGateway({ store: storeB, upstream: { healthIntervalMs: 0 } });
  await a.start();
  await b.start();
  return {
    a,
    b,
    storeA,
    close: async () => {
      await a.close();
      await b.close();
      await storeA.close();
      await storeB.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Close a replica's app without waiting on its clients' idle keep-alive connections (undici keeps
 * them 4 s; the server waits for them): nothing here tests the shutdown.
 */
async function closeApp(h: Http | undefined): Promise<void> {
  if (!h) return;
  const closing = h.app.close();
  h.app.server.closeAllConnections();
  await closing;
}

const headers = (key: string, session?: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(session ? { 'mcp-session-id': session } : {}),
});

function rpc(url: string, key: string, session: string | undefined, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: headers(key, session), body: JSON.stringify(body) });
}

/** A session opened over raw HTTP (initialize + initialized); returns its id. */
async function openSession(url: string, key = 'key-acme-alice'): Promise<string> {
  const init = await rpc(url, key, undefined, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { roots: { listChanged: true } }, clientInfo: { name: 'raw', version: '7' } },
  });
  expect(init.status, 'initialize').to.equal(200);
  const id = init.headers.get('mcp-session-id')!;
  expect((await rpc(url, key, id, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).to.equal(202);
  return id;
}

const ping = (url: string, session: string, key = 'key-acme-alice') => rpc(url, key, session, { jsonrpc: '2.0', id: 1, method: 'ping' });

/** A real SDK client joining an existing session (no initialize of its own). */
async function joinSession(url: string, session: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { sessionId: session, requestInit: { headers: { authorization: 'Bearer key-acme-alice' } } });
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** The log messages (notifications/message) of a session's GET stream, opened over raw HTTP. */
async function logStream(url: string, session: string): Promise<{ logs: LoggingMessageNotification['params'][]; close(): Promise<void> }> {
  const res = await fetch(url, { headers: { ...headers('key-acme-alice', session), accept: 'text/event-stream' } });
  expect(res.status, 'GET stream').to.equal(200);
  const logs: LoggingMessageNotification['params'][] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        for (const line of buffer.slice(0, end).split('\n')) {
          const message = line.startsWith('data: ') ? (JSON.parse(line.slice(6)) as { method?: string; params?: LoggingMessageNotification['params'] }) : undefined;
          if (message?.method === 'notifications/message') logs.push(message.params!);
        }
        buffer = buffer.slice(end + 2);
      }
    }
  })();
  return { logs, close: () => reader.cancel().catch(() => {}) };
}

type Directory = { name: string; open(ctx: Mocha.Context): Promise<{ forA: Cache; forB: Cache; broken(): Promise<Cache>; close(): Promise<void> }> };

const directories: Directory[] = [
  {
    name: 'in-memory cache',
    open: async () => {
      const cache = new MemoryCache();
      const down = new Proxy(cache, {
        get: (target, prop) => (typeof Reflect.get(target, prop) === 'function' ? () => Promise.reject(new Error('cache down (test)')) : Reflect.get(target, prop)),
      });
      return { forA: cache, forB: cache, broken: async () => down, close: () => cache.close() };
    },
  },
  {
    name: 'Redis',
    open: async (ctx) => {
      await requireService(ctx, 'Redis', redisAvailable);
      const p = redisTestPrefix('omc_mcp_sessions');
      // One connection per replica, as two processes would have.
      const forA = new RedisCache(new Redis(REDIS_TEST_URL), p.prefix);
      const forB = new RedisCache(new Redis(REDIS_TEST_URL), p.prefix);
      return {
        forA,
        forB,
        // A connection that was lost: ioredis refuses commands on it.
        broken: async () => {
          const r = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
          await r.ping();
          r.disconnect();
          return new RedisCache(r, p.prefix);
        },
        close: async () => {
          await forA.close();
          await forB.close();
          await p.drop();
        },
      };
    },
  },
];

for (const directory of directories) {
  describe(`/mcp sessions served by any replica (${directory.name})`, function () {
    this.timeout(60_000);
    let pair: Awaited<ReturnType<typeof openReplicaPair>>;
    let dir: Awaited<ReturnType<Directory['open']>>;
    let A: Http;
    let B: Http;
    const logB: string[] = [];
    const adoptions = () => logB.filter((l) => l.includes(ADOPTED)).length;
    const cleanups: Array<() => Promise<unknown>> = [];

    before(async function () {
      dir = await directory.open(this);
      pair = await openReplicaPair();
      await pair.a.registerServer({ ...examplesServer(alice, { name: 'files' }), tenant: 'acme' });
      await eventually('replica B lists the tools registered through A', () => pair.b.listTools('acme').some((t) => t.name === 'files__echo'));
      A = await startGatewayHttp(pair.a, { cache: dir.forA, sessionRefreshMs: REFRESH_MS });
      B = await startGatewayHttp(pair.b, { cache: dir.forB, sessionRefreshMs: REFRESH_MS }, { level: 'info', stream: { write: (line: string) => void logB.push(line) } });
    });

    after(async function () {
      for (const c of cleanups.reverse()) await c().catch(() => {});
      await closeApp(A);
      await closeApp(B);
      await pair?.close();
      await dir?.close();
    });

    it('serves on B a session an SDK client opened on A: tools listed and called, the call audited in the shared log', async function () {
      const transportA = new StreamableHTTPClientTransport(new URL(A.url), { requestInit: { headers: { authorization: 'Bearer key-acme-alice' } } });
      const clientA = new Client({ name: 'test-client', version: '1.0.0' });
      await clientA.connect(transportA);
      cleanups.push(() => clientA.close());
      const session = transportA.sessionId!;
      expect(session).to.be.a('string');

      const { client: clientB } = await joinSession(B.url, session);
      cleanups.push(() => clientB.close());
      const before = adoptions();
      const { tools } = await clientB.listTools();
      expect(tools.map((t) => t.name)).to.include.members(['search_tools', 'files__echo']);
      expect(adoptions() - before, 'adopted on its first request').to.equal(1);

      const head = await pair.storeA.headPosition();
      const result = await clientB.callTool({ name: 'files__echo', arguments: { text: 'through B' } });
      expect((result.content as TextContent[])[0].text).to.include('through B');
      const events = (await pair.storeA.readAll({ after: head, limit: 1_000 })).filter((e) => e.stream.startsWith('toolcall-'));
      expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted']);
      for (const e of events) {
        expect(e.tenant).to.equal('acme');
        expect(e.actor).to.deep.equal(alice);
      }
      expect((await clientB.listTools()).tools.length, 'served locally from then on').to.equal(tools.length);
      expect(adoptions() - before).to.equal(1);
      expect((await clientA.callTool({ name: 'files__echo', arguments: { text: 'still A' } })).isError ?? false, 'A keeps serving it').to.equal(false);
    });

    it('adopts a session on a replica answering with SSE streams (enableJsonResponse: false)', async function () {
      const session = await openSession(A.url);
      const G = await startGatewayHttp(pair.b, { cache: dir.forB, enableJsonResponse: false });
      cleanups.push(() => G.app.close());
      const { client } = await joinSession(G.url, session);
      cleanups.push(() => client.close());
      const result = await client.callTool({ name: 'files__echo', arguments: { text: 'streamed' } });
      expect((result.content as TextContent[])[0].text).to.include('streamed');
    });

    it('records only what rebuilds the session, never the key', async function () {
      const session = await openSession(A.url);
      const record = await loadSession(dir.forB, session);
      expect(record).to.deep.include({ tenant: 'acme', actor: alice, protocolVersion: LATEST_PROTOCOL_VERSION });
      expect(record!.clientInfo).to.deep.equal({ name: 'raw', version: '7' });
      expect(record!.capabilities).to.deep.equal({ roots: { listChanged: true } });
      expect(Object.keys(record!).sort()).to.deep.equal(['actor', 'capabilities', 'clientInfo', 'createdAt', 'protocolVersion', 'tenant']);
      expect(JSON.stringify(record)).to.not.include('key-acme-alice');
    });

    it('writes no entry for an initialize refused for its Accept header', async function () {
      const written: string[] = [];
      const deleted: string[] = [];
      const watched = new Proxy(dir.forA, {
        get: (target, prop) =>
          prop === 'set'
            ? (key: string, ...rest: [string, number?]) => (written.push(key), target.set(key, ...rest))
            : prop === 'del'
              ? (...keys: string[]) => (deleted.push(...keys), target.del(...keys))
              : Reflect.get(target, prop),
      });
      const H = await startGatewayHttp(pair.a, { cache: watched });
      cleanups.push(() => H.app.close());
      const refused = await fetch(H.url, {
        method: 'POST',
        // A client that takes neither JSON nor an event stream (accept-header.int.test.ts).
        headers: { ...headers('key-acme-alice'), accept: 'text/html' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      expect(refused.status).to.equal(406);
      // Refused before the entry is written (the SDK's transport refused it after, and the entry was deleted).
      expect(written).to.deep.equal([]);
      expect(deleted).to.deep.equal([]);
    });

    it('relays log messages at the level the client set through another replica (kept in the directory)', async function () {
      const logs = await pair.a.registerServer({
        tenant: 'acme',
        actor: alice,
        name: 'logs',
        ...loggingServer,
      });
      cleanups.push(() => pair.a.removeServer('acme', logs.id, alice));
      await eventually('B connected to the logging upstream', () => pair.b.status().upstreams.some((u) => u.name === 'logs' && u.health === 'up'));
      const session = await openSession(A.url);
      // Its GET stream on B (which adopts the session), its logging/setLevel through A.
      const stream = await logStream(B.url, session);
      cleanups.push(() => stream.close());
      const setLevel = (level: string, id: number) => rpc(A.url, 'key-acme-alice', session, { jsonrpc: '2.0', id, method: 'logging/setLevel', params: { level } });
      const log = (level: string, data: string, id: number) =>
        rpc(B.url, 'key-acme-alice', session, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'logs__log', arguments: { level, data } } });
      expect((await setLevel('error', 20)).status).to.equal(200);
      // Called through B: its own upstream connection logs, and B relays to the GET stream it holds.
      expect((await log('debug', 'below the level', 21)).status).to.equal(200);
      expect((await log('error', 'at the level', 22)).status).to.equal(200);
      await eventually('the client hears the error', () => stream.logs.some((l) => l.data === 'at the level'));
      expect(stream.logs.map((l) => l.data)).to.deep.equal(['at the level']);
      // A new level set through A applies on B too (read again at most every second).
      expect((await setLevel('debug', 23)).status).to.equal(200);
      let n = 0;
      await eventually('the client hears debug again', async () => {
        const mark = `debug ${n}`;
        await log('debug', mark, 30 + n++);
        await new Promise((r) => setTimeout(r, 100));
        return stream.logs.some((l) => l.data === mark);
      });
    });

    it('a replica without the session\'s GET stream neither relays log messages to it nor reads its level for them', async function () {
      const logs = await pair.a.registerServer({
        tenant: 'acme',
        actor: alice,
        name: 'logs2',
        ...loggingServer,
      });
      cleanups.push(() => pair.a.removeServer('acme', logs.id, alice));
      const reads: string[] = [];
      const watched = new Proxy(dir.forA, {
        get: (target, prop) => (prop === 'get' ? (key: string) => (key.endsWith(':log-level') && reads.push(key), target.get(key)) : Reflect.get(target, prop)),
      });
      const H = await startGatewayHttp(pair.a, { cache: watched, logLevelRefreshMs: 0 });
      cleanups.push(() => H.app.close());
      const session = await openSession(H.url);
      // The GET stream on B; the calls (and so the upstream's log messages) through H.
      const stream = await logStream(B.url, session);
      cleanups.push(() => stream.close());
      for (let i = 0; i < 5; i++) {
        const res = await rpc(H.url, 'key-acme-alice', session, { jsonrpc: '2.0', id: 40 + i, method: 'tools/call', params: { name: 'logs2__log', arguments: { level: 'info', data: `via H ${i}` } } });
        expect(res.status).to.equal(200);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(reads, 'level reads on the replica without the GET stream').to.deep.equal([]);
    });

    it('keeps the level it knows when the directory has lost its entry (evicted, flushed): not back to everything', async function () {
      const logs = await pair.a.registerServer({
        tenant: 'acme',
        actor: alice,
        name: 'logs3',
        ...loggingServer,
      });
      cleanups.push(() => pair.a.removeServer('acme', logs.id, alice));
      const H = await startGatewayHttp(pair.a, { cache: dir.forA, logLevelRefreshMs: 0 });
      cleanups.push(() => H.app.close());
      const session = await openSession(H.url);
      const stream = await logStream(H.url, session);
      cleanups.push(() => stream.close());
      const call = (level: string, data: string, id: number) => rpc(H.url, 'key-acme-alice', session, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'logs3__log', arguments: { level, data } } });
      expect((await rpc(H.url, 'key-acme-alice', session, { jsonrpc: '2.0', id: 50, method: 'logging/setLevel', params: { level: 'error' } })).status).to.equal(200);
      await dir.forA.del(`mcp-session:${session}:log-level`);
      expect((await call('debug', 'below the level', 51)).status).to.equal(200);
      expect((await call('error', 'at the level', 52)).status).to.equal(200);
      await eventually('the client hears the error', () => stream.logs.some((l) => l.data === 'at the level'));
      expect(stream.logs.map((l) => l.data)).to.deep.equal(['at the level']);
    });

    it('answers logging/setLevel with DEPENDENCY_UNAVAILABLE when the directory cannot keep the level, and the session serves on', async function () {
      const failing = new Proxy(dir.forA, {
        get: (target, prop) =>
          prop === 'set'
            ? (key: string, ...rest: [string, number?]) => (key.endsWith(':log-level') ? Promise.reject(new Error('cache down (test)')) : target.set(key, ...rest))
            : Reflect.get(target, prop),
      });
      const H = await startGatewayHttp(pair.a, { cache: failing });
      cleanups.push(() => H.app.close());
      const session = await openSession(H.url);
      const res = await rpc(H.url, 'key-acme-alice', session, { jsonrpc: '2.0', id: 3, method: 'logging/setLevel', params: { level: 'error' } });
      const body = (await res.json()) as { error?: { code: number; data?: { code?: string } } };
      expect(body.error?.code).to.equal(-32603);
      expect(body.error?.data?.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(await loadLogLevel(dir.forA, session)).to.equal(undefined);
      expect((await ping(H.url, session)).status).to.equal(200);
    });

    it('adopts once when requests for a session it does not know arrive together', async function () {
      const session = await openSession(A.url);
      const ids = [11, 12, 13, 14, 15];
      // Directory reads held until every request has made one: all of them are past their lookup
      // before any adoption starts, whatever order they arrive in.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let reads = 0;
      const gated = new Proxy(dir.forB, {
        get: (target, prop) =>
          prop === 'get'
            ? async (key: string) => {
                if (++reads === ids.length) open();
                await Promise.race([gate, new Promise((r) => setTimeout(r, 2_000))]);
                return target.get(key);
              }
            : Reflect.get(target, prop),
      });
      const logD: string[] = [];
      const D = await startGatewayHttp(pair.b, { cache: gated }, { level: 'info', stream: { write: (line: string) => void logD.push(line) } });
      cleanups.push(() => D.app.close());
      const answers = await Promise.all(ids.map((id) => rpc(D.url, 'key-acme-alice', session, { jsonrpc: '2.0', id, method: 'tools/list' })));
      expect(answers.map((r) => r.status)).to.deep.equal(ids.map(() => 200));
      const bodies = (await Promise.all(answers.map((r) => r.json()))) as { id: number; result: { tools: unknown[] } }[];
      expect(bodies.map((b) => b.id)).to.deep.equal(ids);
      expect(logD.filter((l) => l.includes(ADOPTED))).to.have.length(1);
    });

    it('refuses a session to another tenant or actor (403) without adopting it, and serves its owner', async function () {
      const session = await openSession(A.url);
      const before = adoptions();
      const otherActor = await ping(B.url, session, 'key-acme-bob');
      expect(otherActor.status).to.equal(403);
      expect(((await otherActor.json()) as { error: { message: string } }).error.message).to.include('another identity');
      expect((await ping(B.url, session, 'key-other-alice')).status).to.equal(403);
      expect(adoptions() - before, 'not adopted for a stranger').to.equal(0);
      expect((await ping(B.url, session)).status).to.equal(200);
      expect((await ping(B.url, session, 'key-acme-bob')).status, 'adopted: still refused').to.equal(403);
      expect((await ping(A.url, session, 'key-other-alice')).status).to.equal(403);
    });

    it('ends a session everywhere on DELETE through B: B at once, A when it next checks the directory', async function () {
      const transportA = new StreamableHTTPClientTransport(new URL(A.url), { requestInit: { headers: { authorization: 'Bearer key-acme-alice' } } });
      const clientA = new Client({ name: 'test-client', version: '1.0.0' });
      await clientA.connect(transportA);
      cleanups.push(() => clientA.close());
      const session = transportA.sessionId!;

      const { transport: transportB } = await joinSession(B.url, session);
      await transportB.terminateSession();
      expect(transportB.sessionId, 'the SDK client saw the DELETE succeed').to.equal(undefined);
      expect(await loadSession(dir.forA, session), 'gone from the directory').to.equal(undefined);
      expect((await ping(B.url, session)).status).to.equal(404);

      await new Promise((r) => setTimeout(r, REFRESH_MS + 50));
      const onA = await ping(A.url, session);
      expect(onA.status).to.equal(404);
      expect(((await onA.json()) as { error: { message: string } }).error.message).to.equal('session not found (ended: idle, deleted, or over its limits; or never opened here): send initialize again for a new one');
      expect((await ping(A.url, session)).status, 'the local copy on A is closed').to.equal(404);
    });

    it('writes a session in use back into the directory when its entry was lost (evicted), so it never ends by eviction', async function () {
      const session = await openSession(A.url);
      expect((await ping(A.url, session)).status).to.equal(200);
      await dir.forA.del(`mcp-session:${session}`);
      expect((await ping(B.url, session)).status, 'B cannot find it meanwhile').to.equal(404);
      await new Promise((r) => setTimeout(r, REFRESH_MS + 50));
      expect((await ping(A.url, session)).status, 'A still serves it').to.equal(200);
      expect(await loadSession(dir.forB, session), 'written back').to.not.equal(undefined);
      expect((await ping(B.url, session)).status, 'and B adopts it again').to.equal(200);
    });

    it('keeps a session in use in the directory past the idle timeout, and lets an idle one expire', async function () {
      const idle = { sessionIdleMs: 600, sessionRefreshMs: 100 };
      const E = await startGatewayHttp(pair.a, { cache: dir.forA, ...idle });
      const F = await startGatewayHttp(pair.b, { cache: dir.forB, ...idle });
      cleanups.push(() => E.app.close(), () => F.app.close());
      const session = await openSession(E.url);
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 150));
        expect((await ping(E.url, session)).status, `use ${i}`).to.equal(200);
      }
      expect(await loadSession(dir.forB, session), 'refreshed while used').to.not.equal(undefined);
      expect((await ping(F.url, session)).status).to.equal(200);

      await new Promise((r) => setTimeout(r, 700));
      expect(await loadSession(dir.forB, session), 'expired once idle').to.equal(undefined);
      expect((await ping(F.url, session)).status).to.equal(404);
      expect((await ping(E.url, session)).status).to.equal(404);
    });

    it('answers 404 on every replica for a session no replica knows', async function () {
      const unknown = randomUUID();
      expect((await ping(A.url, unknown)).status).to.equal(404);
      expect((await ping(B.url, unknown)).status).to.equal(404);
    });

    it('answers 503 promptly when the directory fails while adopting, and serves once it is back', async function () {
      const session = await openSession(A.url);
      const C = await startGatewayHttp(pair.b, { cache: await dir.broken(), sessionRefreshMs: REFRESH_MS });
      cleanups.push(() => C.app.close());
      const started = Date.now();
      const res = await ping(C.url, session);
      expect(res.status).to.equal(503);
      const body = (await res.json()) as { jsonrpc: string; error: { code: number; message: string; data: { code: string } }; id: null };
      expect(body).to.deep.equal({
        jsonrpc: '2.0',
        error: { code: -32001, message: 'session directory unavailable: try again shortly', data: { code: 'DEPENDENCY_UNAVAILABLE' } },
        id: null,
      });
      expect(Date.now() - started, 'not a hang').to.be.below(3_000);
      expect((await ping(B.url, session)).status, 'a replica reaching the directory serves it').to.equal(200);
    });

    it('refuses to open a session (503) while the directory is down', async function () {
      const C = await startGatewayHttp(pair.b, { cache: await dir.broken() });
      cleanups.push(() => C.app.close());
      const init = await rpc(C.url, 'key-acme-alice', undefined, {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      expect(init.status).to.equal(503);
      expect(init.headers.get('mcp-session-id')).to.equal(null);
    });
  });
}

describe('/mcp sessions without a session directory, or with one that does not answer', function () {
  this.timeout(60_000);
  let pair: Awaited<ReturnType<typeof openReplicaPair>>;
  const apps: Http[] = [];

  before(async function () {
    pair = await openReplicaPair();
  });

  after(async function () {
    for (const h of apps) await closeApp(h);
    await pair?.close();
  });

  it('keeps a session in the replica that opened it: 404 on another', async function () {
    const A = await startGatewayHttp(pair.a);
    const B = await startGatewayHttp(pair.b);
    apps.push(A, B);
    const session = await openSession(A.url);
    expect((await ping(B.url, session)).status).to.equal(404);
    expect((await ping(A.url, session)).status).to.equal(200);
  });

  it('answers 503 when the directory hangs, after its timeout rather than never', async function () {
    const cache = new MemoryCache();
    const hanging = new Proxy(cache, {
      get: (target, prop) => (prop === 'get' ? () => new Promise(() => {}) : Reflect.get(target, prop)),
    });
    const A = await startGatewayHttp(pair.a, { cache });
    const B = await startGatewayHttp(pair.b, { cache: hanging });
    apps.push(A, B);
    const session = await openSession(A.url);
    const started = Date.now();
    expect((await ping(B.url, session)).status).to.equal(503);
    expect(Date.now() - started).to.be.within(1_500, 5_000);
  });
});
