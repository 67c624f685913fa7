import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { McpGateway } from '../../src/mcp/gateway';
import { MAX_UPSTREAM_MESSAGE_BYTES } from '../../src/mcp/bounded-fetch';
import { MAX_RESULT_DEPTH } from '../../src/mcp/upstream';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const system = { kind: 'system' as const, id: 'openmcp' };
const ctxOf = (tenant: string) => ({ tenant, actor: { kind: 'agent' as const, id: `${tenant}-bot` } });
const acme = ctxOf('acme');
const beta = ctxOf('beta');
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
const messageOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: Error) => e.message);

/**
 * A shared server (tenant `*`) that answered one tenant's call with what the gateway cannot take
 * (over 10 MiB over HTTP, nested deeper than the audit can hash) is alive: that answer is the
 * calling tenant's failure (its own circuit), not the server being down for every tenant. Before,
 * an HTTP answer over the limit dropped the connection (failing every tenant's calls in flight on
 * it) and counted against the server's circuit; a result too deep counted against nothing.
 */
describe("MCP gateway: a shared server's answer one tenant's call cannot take is that tenant's failure", function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  const servers: HttpServer[] = [];
  /** How many times the HTTP upstreams ran `big` (a retry would run it again). */
  let bigRuns = 0;

  /** Opened by the test: `gate` answers. */
  let gate: Promise<void>;
  let openGate: () => void;
  /** The answer stream of a call of `after` was closed (the gateway stopped reading it). */
  let afterStreamClosed = false;
  /** How many sessions the HTTP upstreams opened (a dropped connection opens another). */
  let sessionsOpened = 0;

  function upstream(json: boolean, resumable = false): Promise<string> {
    const build = () => {
      const server = new Server({ name: 'big', version: '1.0.0' }, { capabilities: { tools: {}, logging: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [
          { name: 'big', description: 'Answer `bytes` letters.', inputSchema: { type: 'object' as const, properties: { bytes: { type: 'integer' } } }, annotations: { readOnlyHint: true, idempotentHint: true } },
          { name: 'hold', description: 'Answer after `ms`.', inputSchema: { type: 'object' as const, properties: { ms: { type: 'integer' } } } },
          { name: 'gate', description: 'Answer once the test opens the gate.', inputSchema: { type: 'object' as const, properties: {} } },
          { name: 'after', description: 'Once cancelled, log `bytes` letters on its answer stream.', inputSchema: { type: 'object' as const, properties: { bytes: { type: 'integer' } } } },
        ],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (r, extra) => {
        if (r.params.name === 'gate') {
          await gate;
          return { content: [{ type: 'text', text: 'through' }] };
        }
        if (r.params.name === 'after') {
          await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
          // As a server that ignores the cancel (the SDK's own drops what a cancelled handler sends).
          await server.notification({ method: 'notifications/message', params: { level: 'info', data: 'x'.repeat(Number(r.params.arguments?.bytes)) } }, { relatedRequestId: extra.requestId });
          return { content: [] };
        }
        if (r.params.name === 'hold') {
          await new Promise((resolve) => setTimeout(resolve, Number(r.params.arguments?.ms)));
          return { content: [{ type: 'text', text: 'held' }] };
        }
        bigRuns++;
        return { content: [{ type: 'text', text: 'x'.repeat(Number(r.params.arguments?.bytes)) }] };
      });
      sessionsOpened++;
      return server;
    };
    const sessions = mcpSessions(build, { json, ...(resumable ? { eventStore: () => new InMemoryEventStore(), retryMs: 20 } : {}) });
    const http = createServer(async (req, res) => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const call = body as { method?: string; params?: { name?: string } } | undefined;
      if (call?.method === 'tools/call' && call.params?.name === 'after') res.on('close', () => void (afterStreamClosed = true));
      await sessions.handle(req, res, body);
    });
    servers.push(http);
    return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`)));
  }

  beforeEach(async () => {
    gate = new Promise((resolve) => (openGate = resolve));
    afterStreamClosed = false;
    db = await openTempSqliteStore();
    gateway = new McpGateway({
      store: db.store,
      cacheTtlMs: 0,
      upstream: { healthIntervalMs: 0, callTimeoutMs: 30_000, retries: 2, breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60_000, rollingCountTimeoutMs: 60_000 } },
    });
    await gateway.start();
  });

  afterEach(async () => {
    await gateway?.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await db?.cleanup();
  });

  const healthOf = async (serverId: string) =>
    (await db.store.readStream(`mcpserver-${serverId}`)).filter((e) => e.type === 'McpServerHealthChanged').map((e) => (e.data as { status: string }).status);

  for (const json of [true, false]) {
    it(`over HTTP (${json ? 'a JSON answer' : 'an event of the call\'s answer stream'}) over 10 MiB: the call fails, not retried, the other tenants' calls in flight go on, and only the calling tenant's circuit opens`, async () => {
      const serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'big', transport: 'http', url: await upstream(json) })).id;
      const opened = sessionsOpened;
      // Beta's call in flight on the same connection while acme's answers come too large.
      const held = codeOf(gateway.callTool(beta, 'big__hold', { ms: 1_500 }));
      bigRuns = 0;
      for (let i = 0; i < 3; i++) {
        const message = await messageOf(gateway.callTool(acme, 'big__big', { bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024 }));
        expect(message).to.include(`over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`).and.to.include('ask the tool for less');
      }
      expect(bigRuns, 'runs of the tool: each call once (an answer too large is not retried)').to.equal(3);
      expect(await held, "beta's call in flight meanwhile").to.equal('ok');
      expect(await messageOf(gateway.callTool(acme, 'big__big', { bytes: 10 })), "acme's next call").to.match(/this tenant's calls/);
      expect(await codeOf(gateway.callTool(beta, 'big__big', { bytes: 10 })), "beta's next call").to.equal('ok');
      expect(gateway.upstream(serverId)!.circuit, "the server's circuit").to.equal('closed');
      expect(await healthOf(serverId), 'health as recorded').to.not.include('down');
      expect(sessionsOpened, 'sessions opened since: the connection was kept').to.equal(opened);
    });
  }

  it("a resumable upstream (its answer streams resumed after a cut) replaying the event over 10 MiB: the call fails alone, the connection is kept", async () => {
    const serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'big', transport: 'http', url: await upstream(false, true) })).id;
    const opened = sessionsOpened;
    // Beta's call in flight well past the SDK's resumption of acme's answer stream (20 ms after its cut).
    const held = codeOf(gateway.callTool(beta, 'big__hold', { ms: 3_000 }));
    expect(await messageOf(gateway.callTool(acme, 'big__big', { bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024 }))).to.include(`over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`);
    expect(await held, "beta's call in flight meanwhile").to.equal('ok');
    expect(await codeOf(gateway.callTool(beta, 'big__big', { bytes: 10 })), "beta's next call").to.equal('ok');
    expect(sessionsOpened, 'sessions opened since: the connection was kept').to.equal(opened);
    expect(await healthOf(serverId), 'health as recorded').to.not.include('down');
  });

  it("an event over 10 MiB on the answer stream of a call already ended (cancelled): the connection is kept", async () => {
    const serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'big', transport: 'http', url: await upstream(false) })).id;
    const opened = sessionsOpened;
    const held = codeOf(gateway.callTool(beta, 'big__gate', {}));
    const ac = new AbortController();
    const after = codeOf(gateway.callTool(acme, 'big__after', { bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024 }, { signal: ac.signal }));
    await until('both calls in flight', () => gateway.upstream(serverId)!.inFlight === 2);
    ac.abort();
    expect(await after).to.equal('MCP_CALL_CANCELLED');
    // The gateway cut that stream at the event over the limit (a drop of the connection is synchronous with the cut).
    await until("acme's answer stream cut", () => afterStreamClosed, 10_000);
    openGate();
    expect(await held, "beta's call in flight meanwhile").to.equal('ok');
    expect(await codeOf(gateway.callTool(beta, 'big__big', { bytes: 10 }))).to.equal('ok');
    expect(sessionsOpened, 'sessions opened since: the connection was kept').to.equal(opened);
  });

  it(`a result nested deeper than ${MAX_RESULT_DEPTH} levels: the calling tenant's failure, its circuit opened, the others' calls go on`, async () => {
    const deep = { command: process.execPath, args: [join(__dirname, 'support', 'deep-upstream.cjs')] };
    const serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'deep', transport: 'stdio', ...deep })).id;
    for (let i = 0; i < 3; i++) expect(await codeOf(gateway.callTool(acme, 'deep__deep', { n: MAX_RESULT_DEPTH + 10 }))).to.equal('AUDIT_UNAVAILABLE');
    expect(await messageOf(gateway.callTool(acme, 'deep__deep', { n: 1 })), "acme's next call").to.match(/this tenant's calls/);
    expect(await codeOf(gateway.callTool(beta, 'deep__deep', { n: 1 })), "beta's call").to.equal('ok');
    expect(gateway.upstream(serverId)!.circuit).to.equal('closed');
    expect(await healthOf(serverId)).to.not.include('down');
  });

  it("a stdio server whose process a tenant's call ends (it crashed): down for every tenant while it is, started again by the next call, whoever's", async () => {
    const ending = { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), join(__dirname, 'support', 'ending-server.ts')] };
    const serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'ending', transport: 'stdio', ...ending })).id;
    const u = gateway.upstream(serverId)!;
    const first = u.pid;
    // Beta's call in flight as the process ends: it fails too (nothing tells whose call ended it).
    const hung = codeOf(gateway.callTool(beta, 'ending__hang', {}));
    await until('beta\'s call in flight', () => u.inFlight === 1);
    expect(await codeOf(gateway.callTool(acme, 'ending__exit', { code: 3 }))).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(await hung).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(await codeOf(gateway.callTool(beta, 'ending__big', { chars: 10 })), "beta's next call, on a process started again").to.equal('ok');
    expect(u.pid).to.not.equal(first);
    // Crashing it again and again opens the server's circuit, for every tenant: it was down for all.
    for (let i = 0; i < 3 && u.circuit !== 'open'; i++) await codeOf(gateway.callTool(acme, 'ending__exit', { code: 3 }));
    expect(u.circuit).to.equal('open');
    expect(await codeOf(gateway.callTool(beta, 'ending__big', { chars: 10 }))).to.equal('MCP_CIRCUIT_OPEN');
    // A health check starts it again and, answered, closes the circuit for all.
    await gateway.checkHealth();
    expect(u.circuit).to.equal('closed');
    expect(await codeOf(gateway.callTool(beta, 'ending__big', { chars: 10 }))).to.equal('ok');
    expect(await codeOf(gateway.callTool(acme, 'ending__big', { chars: 10 }))).to.equal('ok');
    expect((await healthOf(serverId)).slice(-2)).to.deep.equal(['down', 'up']);
  });
});
