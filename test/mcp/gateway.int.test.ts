import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import { verifyEventHash } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { httpClient, startGatewayHttp } from './support/clients';
import { failingStore, openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms))]);
}

async function callEvents(store: EventStore, after: number): Promise<RecordedEvent[]> {
  return (await store.readAll({ after, limit: 10_000 })).filter((e) => e.stream.startsWith('toolcall-'));
}

/** Every number in event data is a safe integer (no floats, no bigint). */
function assertIntegerOnly(v: unknown, path = 'data'): void {
  if (typeof v === 'number') expect(Number.isSafeInteger(v), `${path} = ${v}`).to.equal(true);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) assertIntegerOnly(x, `${path}.${k}`);
}

describe('MCP gateway over real SDK clients and servers (stdio + streamable HTTP)', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let storeDown = false;
  let gateway: McpGateway;
  let remote: HttpExample;
  let http: { app: FastifyInstance; url: string };
  let client: Client;
  let examplesId: string;
  let remoteId: string;

  before(async function () {
    db = await openTempSqliteStore();
    const store = failingStore(db.store, (stream) => storeDown && stream.startsWith('toolcall-'));
    gateway = new McpGateway({
      store,
      upstream: {
        callTimeoutMs: 4_000,
        connectTimeoutMs: 15_000,
        healthIntervalMs: 0,
        retries: 1,
        retryBackoffMs: 10,
        // Open for 2 s: the breaker test checks it open after its calls, which a loaded machine can
        // make slower than a 300 ms reset (it was half-open by then).
        breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 2_000, rollingCountTimeoutMs: 10_000 },
      },
    });
    await gateway.start();
    remote = await startHttpExample({ testTools: true });
    const [ex, rm] = await Promise.all([
      gateway.registerServer({ ...examplesServer(actor, { testTools: true }), tenant: 'acme' }),
      gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url }),
    ]);
    examplesId = ex.id;
    remoteId = rm.id;
    expect(ex.health, 'examples connected').to.equal('up');
    expect(rm.health, 'remote connected').to.equal('up');
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  it('aggregates both upstreams under namespaced names, keeping schemas and annotations', async function () {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).to.include.members(['search_tools', 'examples__echo', 'examples__add', 'remote__echo', 'remote__add', 'remote__crash']);
    const add = tools.find((t) => t.name === 'remote__add')!;
    expect(add.inputSchema.properties).to.have.keys('a', 'b');
    expect(add.inputSchema.required).to.have.members(['a', 'b']);
    expect(add.annotations).to.include({ readOnlyHint: true, idempotentHint: true });
    expect(add.description).to.equal('Add two integers and return the sum.');
  });

  it("shows what an agent builder tries with the bundled examples: add's outputSchema with its structuredContent, sleep's progress when asked for (stdio; the HTTP example answers as JSON, which carries no progress)", async function () {
    const { tools } = await client.listTools();
    for (const server of ['examples', 'remote']) {
      const add = tools.find((t) => t.name === `${server}__add`)!;
      expect(add.outputSchema?.properties, server).to.have.keys('sum');
      // The SDK client checks structuredContent against the outputSchema it listed.
      expect((await client.callTool({ name: `${server}__add`, arguments: { a: 40, b: 2 } })).structuredContent, server).to.deep.equal({ sum: 42 });
    }
    const progress: number[] = [];
    const slept = await client.callTool({ name: 'examples__sleep', arguments: { ms: 600, progressEveryMs: 100 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    expect(slept.content).to.deep.equal([{ type: 'text', text: 'slept 600' }]);
    // The last may come after the answer, which the SDK client then drops (modelcontextprotocol/typescript-sdk#2580).
    expect(progress.length, 'progress notifications relayed').to.be.greaterThan(0);
    expect(progress).to.deep.equal([...progress].sort((x, y) => x - y));
  });

  it('forwards arguments intact and returns the upstream result', async function () {
    const text = 'héllo "wörld" \u{1F600} \\n {"nested": [1, 2]}';
    const r1 = await client.callTool({ name: 'examples__echo', arguments: { text } });
    expect(r1.content).to.deep.equal([{ type: 'text', text }]);
    const r2 = await client.callTool({ name: 'remote__add', arguments: { a: 2, b: 40 } });
    expect(r2.structuredContent).to.deep.equal({ sum: 42 });
  });

  it('passes upstream errors through: tool errors as isError results, JSON-RPC errors as MCP errors with their code', async function () {
    const r = await client.callTool({ name: 'remote__fail', arguments: { message: 'nope' } });
    expect(r.isError).to.equal(true);
    expect(r.content).to.deep.equal([{ type: 'text', text: 'nope' }]);
    const err = await client.callTool({ name: 'examples__reject', arguments: { message: 'bad input here' } }).catch((e) => e);
    expect(err).to.be.instanceOf(McpError);
    expect(err.code).to.equal(-32602);
    // The upstream's message once, as it was thrown: the client's SDK adds its one "MCP error <code>: ".
    expect(err.message).to.equal('MCP error -32602: bad input here');
    const missing = await client.callTool({ name: 'examples__nope', arguments: {} }).catch((e) => e);
    expect(missing).to.be.instanceOf(McpError);
    // The gateway's message as it is: the client's SDK adds its one "MCP error <code>: ".
    // Of a server the tenant has: its tools (the first five, sorted, and how many).
    expect(missing.message).to.equal('MCP error -32602: no tool named examples__nope: server examples has no such tool; its tools: examples__add, examples__count, examples__crash, examples__echo, examples__fail, … (10)');
    expect(missing.data).to.deep.equal({ code: 'MCP_TOOL_NOT_FOUND' });
    // A model (or its host) that drops the server's name is told the names to call.
    const bare = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((e) => e);
    expect(bare.message).to.equal('MCP error -32602: no tool named add: tools are named <server>__<tool>, as examples__add, remote__add');
    expect(bare.data).to.deep.equal({ code: 'MCP_TOOL_NOT_FOUND' });
    // A newcomer's typo of the separator or the case is told the name meant (was: only where to look).
    for (const typo of ['examples_echo', 'Examples__Echo', 'examples-echo']) {
      const near = await client.callTool({ name: typo, arguments: { text: 'hi' } }).catch((e) => e);
      expect(near.message).to.equal(`MCP error -32602: no tool named ${typo}: did you mean examples__echo? (tools are named <server>__<tool>, two underscores)`);
    }
  });

  it('refuses arguments nested deeper than 64 levels with -32602 naming the limit, recording and forwarding nothing (3,000 levels was -32603 "internal error", unlogged)', async function () {
    const head = await db.store.headPosition();
    for (const levels of [64, 3_000]) {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < levels; i++) deep = { a: deep };
      const err = await client.callTool({ name: 'examples__echo', arguments: { text: 'x', deep } }).catch((e) => e);
      expect(err, String(levels)).to.be.instanceOf(McpError);
      expect(err.code).to.equal(-32602);
      expect(err.message).to.equal('MCP error -32602: arguments nest deeper than 64 levels');
    }
    expect(await callEvents(db.store, head)).to.deep.equal([]);
  });

  it('records ToolCallRequested then ToolCallCompleted/Failed for every forwarded call, valid and integer-only', async function () {
    const head = await db.store.headPosition();
    await client.callTool({ name: 'examples__add', arguments: { a: 1, b: 2 } });
    await client.callTool({ name: 'examples__reject', arguments: { message: 'x' } }).catch(() => undefined);
    const events = await callEvents(db.store, head);
    expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted', 'ToolCallRequested', 'ToolCallFailed']);
    expect(events[0].stream).to.equal(events[1].stream);
    expect(events[2].stream).to.equal(events[3].stream);
    // The outcome names the request that caused it; the request itself has no cause.
    expect([events[0].causationId, events[1].causationId, events[2].causationId, events[3].causationId]).to.deep.equal([
      undefined, events[0].id, undefined, events[2].id,
    ]);
    for (const e of events) {
      catalog.validate(e.type, e.version, e.data);
      assertIntegerOnly(e.data);
      expect(verifyEventHash(e)).to.equal(true);
      expect(e.tenant).to.equal('acme');
      expect(e.actor).to.deep.equal(actor);
      expect(e.data).to.include({ server: 'examples', serverId: examplesId });
    }
    expect(events[0].data).to.include({ tool: 'add', argumentsHash: payloadDigest({ a: 1, b: 2 }).hash, argumentsJson: '{"a":1,"b":2}' });
    expect(events[1].data).to.include({ isError: false, cached: false });
    expect(events[1].data.resultHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(events[1].data.latencyUs).to.be.a('number');
    expect((events[3].data.error as { code: string; message: string }).code).to.equal('MCP_UPSTREAM_ERROR');
  });

  it('serves cached results for read-only idempotent tools, and still audits them', async function () {
    const head = await db.store.headPosition();
    const a = await client.callTool({ name: 'examples__count', arguments: { key: 'cache' } });
    const b = await client.callTool({ name: 'examples__count', arguments: { key: 'cache' } });
    expect(b.content).to.deep.equal(a.content);
    const done = (await callEvents(db.store, head)).filter((e) => e.type === 'ToolCallCompleted');
    expect(done.map((e) => e.data.cached)).to.deep.equal([false, true]);
  });

  it('refuses a call it cannot record, without forwarding it', async function () {
    storeDown = true;
    try {
      const err = await gateway.callTool(ctx, 'examples__count', { key: 'refused' }).catch((e) => e);
      expect(err.code).to.equal('AUDIT_UNAVAILABLE');
      const viaMcp = await client.callTool({ name: 'examples__count', arguments: { key: 'refused2' } }).catch((e) => e);
      expect(viaMcp).to.be.instanceOf(McpError);
      expect(viaMcp.message).to.contain('not forwarded');
    } finally {
      storeDown = false;
    }
    // The upstream's own call counter shows how many calls reached it: the refused ones did not.
    const text = (r: { content: unknown[] }) => (r.content[0] as { text: string }).text;
    const before = Number(text(await gateway.callTool(ctx, 'examples__count', { key: 'probe1' })).split(':')[1]);
    const r = await gateway.callTool(ctx, 'examples__count', { key: 'probe2' });
    expect(text(r)).to.equal(`probe2:${before + 1}`);
    const all = (await db.store.readAll({ limit: 100_000 })).filter((e) => e.type === 'ToolCallRequested');
    expect(all.some((e) => String(e.data.argumentsJson).includes('refused'))).to.equal(false);
  });

  it('answers tools/list from the catalog while an upstream is hung', async function () {
    const pid = gateway.upstream(examplesId)!.pid!;
    expect(pid).to.be.a('number');
    process.kill(pid, 'SIGSTOP');
    try {
      let settled = false;
      const stuck = client
        .callTool({ name: 'examples__now', arguments: {} })
        .catch((e) => e)
        .finally(() => (settled = true));
      const { tools } = await within(client.listTools(), 5_000, 'tools/list with a hung upstream');
      expect(tools.map((t) => t.name)).to.include('examples__echo');
      expect(settled, 'tools/list answered only after the stuck call gave up').to.equal(false);
      const err = await within(stuck, 15_000, 'call to a hung upstream');
      expect(err).to.be.instanceOf(McpError);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('gives an MCP error (not a hang) when the upstream dies mid-call, and reconnects for the next call', async function () {
    const err = await within(
      client.callTool({ name: 'examples__crash', arguments: {} }).catch((e) => e),
      15_000,
      'call to an upstream that exits',
    );
    expect(err).to.be.instanceOf(McpError);
    expect(err.message).to.match(/examples/);
    const r = await client.callTool({ name: 'examples__reverse', arguments: { text: 'abc' } });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'cba' }]);
  });

  it('opens the breaker while the HTTP upstream is down and closes it when it is back (new session)', async function () {
    const port = remote.port;
    await remote.close();
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(((await gateway.callTool(ctx, 'remote__reverse', { text: `x${i}` }).catch((e) => e)) as { code: string }).code);
    expect(codes[0]).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(codes).to.include('MCP_CIRCUIT_OPEN');
    expect(gateway.upstream(remoteId)!.circuit).to.equal('open');
    const viaMcp = await client.callTool({ name: 'remote__echo', arguments: { text: 'down' } }).catch((e) => e);
    expect(viaMcp).to.be.instanceOf(McpError);

    remote = await startHttpExample({ port, testTools: true });
    // Past the reset timeout: half-open (waited for, not a fixed 2.1 s, which a late timer can outlast).
    await until('the breaker half-open', () => gateway.upstream(remoteId)!.circuit === 'half-open');
    const back = await gateway.callTool(ctx, 'remote__reverse', { text: 'up' });
    expect(back.content).to.deep.equal([{ type: 'text', text: 'pu' }]);
    expect(gateway.upstream(remoteId)!.circuit).to.equal('closed');
    await gateway.checkHealth();
    expect(gateway.listServers('acme').find((s) => s.id === remoteId)!.health).to.equal('up');
    const health = (await db.store.readStream(`mcpserver-${remoteId}`)).filter((e) => e.type === 'McpServerHealthChanged').map((e) => e.data.status);
    expect(health.slice(-2)).to.deep.equal(['down', 'up']);
  });

  it('keeps tenants apart and authenticates every request', async function () {
    const other = await httpClient(http.url, 'key-globex-bob');
    try {
      const { tools } = await other.listTools();
      expect(tools.map((t) => t.name)).to.deep.equal(['search_tools']);
      const err = await other.callTool({ name: 'examples__echo', arguments: { text: 'x' } }).catch((e) => e);
      expect(err).to.be.instanceOf(McpError);
    } finally {
      await other.close();
    }
    const res = await fetch(http.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(res.status).to.equal(401);
  });

  it('finds tools with search_tools and notifies list_changed when a server is added and removed', async function () {
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve()));
    const extra = await gateway.registerServer({ tenant: 'acme', actor, name: 'extra', transport: 'http', url: remote.url });
    await within(changed, 10_000, 'notifications/tools/list_changed');
    const r = await client.callTool({ name: 'search_tools', arguments: { query: 'reverse a string of text', k: 3 } });
    const found = (r.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(found).to.have.length(3);
    expect(found.some((n) => n.endsWith('__reverse'))).to.equal(true);
    await gateway.removeServer('acme', extra.id, actor);
    const { tools } = await client.listTools();
    expect(tools.some((t) => t.name.startsWith('extra__'))).to.equal(false);
  });

  it('rebuilds the catalog from the log on restart', async function () {
    const again = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    try {
      await again.start();
      const names = again.listTools('acme').map((t) => t.name);
      expect(names).to.include.members(['examples__echo', 'remote__add']);
      expect(names.some((n) => n.startsWith('extra__'))).to.equal(false);
    } finally {
      await again.close();
    }
  });
});
