import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { GATED_START_SERVER } from './support/gated-start-server';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

/** `target` behind an HTTP proxy that counts the tools/call requests it forwards. */
async function countingCalls(target: string): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  const to = new URL(target);
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.includes('"tools/call"')) calls++;
      const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${to.pathname}`,
    calls: () => calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const registrations = async (store: EventStore): Promise<RecordedEvent[]> =>
  (await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered');

describe("MCP gateway: a server's own limits are in the log (McpServerRegistered v2), so every replica applies them", function () {
  this.timeout(60_000);
  let dir: string;
  let storeA: EventStore;
  let storeB: EventStore;
  let a: McpGateway;
  let b: McpGateway;
  // Over HTTP: its URL is in the log, so a replica reaches the same server with the same (test) tools.
  let upstream: HttpExample;
  before(async () => {
    upstream = await startHttpExample({ testTools: true });
  });
  after(async () => upstream?.close());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-limits-'));
    const url = `sqlite:${join(dir, 'events.db')}`;
    storeA = await openSqlEventStore(url, { pollIntervalMs: 50 });
    storeB = await openSqlEventStore(url, { pollIntervalMs: 50 });
    a = new McpGateway({ store: storeA, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    b = new McpGateway({ store: storeB, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await a.start();
    await b.start();
  });
  afterEach(async () => {
    await a?.close();
    await b?.close();
    await storeA?.close();
    await storeB?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records limits as v2 only when a registration sets them; without, v1 exactly as before', async () => {
    await a.registerServer({ ...examplesServer(actor, { name: 'plain' }), tenant: 'acme' });
    await a.registerServer({ ...examplesServer(actor, { name: 'limited' }), tenant: 'acme', limits: { timeoutMs: 300, maxConcurrent: 2 } });
    await a.registerServer({ ...examplesServer(actor, { name: 'half' }), tenant: 'acme', limits: { maxConcurrent: 3 } });
    const byName = new Map((await registrations(storeA)).map((e) => [e.data.name as string, e]));
    expect(byName.get('plain')).to.include({ version: 1 });
    expect(byName.get('plain')!.data).to.not.have.property('limits');
    expect(byName.get('limited')).to.include({ version: 2 });
    expect(byName.get('limited')!.data.limits).to.deep.equal({ timeoutMs: 300, maxConcurrent: 2 });
    expect(byName.get('half')!.data.limits).to.deep.equal({ maxConcurrent: 3 });
    // Every stored event is valid against the schema of its own version.
    for (const e of byName.values()) catalog.validate(e.type, e.version, e.data);
    // Readers see v1 through the upcasters as the latest version without limits.
    const up = catalog.upcast(byName.get('plain')!);
    expect(up.version).to.equal(catalog.latestVersion('McpServerRegistered'));
    expect(up.data).to.deep.equal(byName.get('plain')!.data);
    expect(a.listServers('acme').find((s) => s.name === 'limited')?.limits).to.deep.equal({ timeoutMs: 300, maxConcurrent: 2 });
    expect(a.listServers('acme').find((s) => s.name === 'plain')).to.not.have.property('limits');
  });

  it("a replica that learns of the server from the log times its calls out at the server's timeout, once (a timed-out read-only call is not retried)", async () => {
    const counted = await countingCalls(upstream.url);
    try {
      await a.registerServer({ tenant: 'acme', actor, name: 'quick', transport: 'http', url: counted.url, limits: { timeoutMs: 300 } });
      await until('replica B sees the server and connects', () => b.listTools('acme').some((t) => t.name === 'quick__sleep') && b.status().upstreams.some((u) => u.name === 'quick' && u.health === 'up'));
      expect(b.listServers('acme')[0].limits).to.deep.equal({ timeoutMs: 300 });
      const sleep = b.listTools('acme').find((t) => t.name === 'quick__sleep');
      expect(sleep?.annotations, 'the tool may be retried on a lost connection').to.include({ readOnlyHint: true, idempotentHint: true });
      const err = await b.callTool(ctx, 'quick__sleep', { ms: 2_000 }).then(() => undefined, (e: unknown) => e);
      // The gateway-wide 30 s would have let the 2 s call answer.
      expect((err as { code?: string })?.code).to.equal('MCP_UPSTREAM_TIMEOUT');
      expect((err as Error).message).to.contain('within 300 ms');
      // Sent once: counted, not timed (850 ms for one attempt of 300 ms was too short under load).
      await until('the call reached the upstream', () => counted.calls() > 0);
      expect(counted.calls(), 'tools/call requests sent').to.equal(1);
    } finally {
      await counted.close();
    }
  });

  it("a replica holds the server's calls in flight to its maxConcurrent", async () => {
    await a.registerServer({ tenant: 'acme', actor, name: 'narrow', transport: 'http', url: upstream.url, limits: { maxConcurrent: 1 } });
    // Its health turns up on connect, before the tools it listed reach B's catalog (an append, or A's, read from the log).
    await until('replica B sees the tools and connects', () => b.listTools('acme').some((t) => t.name === 'narrow__sleep') && b.status().upstreams.some((u) => u.name === 'narrow' && u.health === 'up'));
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, b.status().upstreams.find((u) => u.name === 'narrow')?.inFlight ?? 0)), 5);
    const started = Date.now();
    try {
      await Promise.all([1, 2, 3].map(() => b.callTool(ctx, 'narrow__sleep', { ms: 300 })));
    } finally {
      clearInterval(watch);
    }
    // One at a time: three 300 ms calls take about 900 ms (with the default of 16, about 300 ms).
    // Not 880: a timer counts from the event loop's cached time, so on a loaded machine each sleep
    // may end tens of ms early by the wall clock. `most` above is the exact check.
    expect(Date.now() - started).to.be.at.least(600);
    expect(most).to.equal(1);
  });

  it('a start-up registration configured otherwise than registered says so in a warning naming what changed (reconfigured in place); the same, nothing', async () => {
    const warnings: { obj: unknown; msg?: string }[] = [];
    const c = new McpGateway({ store: storeA, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, logger: { warn: (obj, msg) => void warnings.push({ obj, msg }) } });
    await c.start();
    try {
      const spec = { ...examplesServer(actor, { name: 'moved' }), tenant: 'acme' };
      const first = await c.ensureServer(spec);
      await c.ensureServer(spec);
      expect(warnings).to.deep.equal([]);
      await c.ensureServer({ ...spec, limits: { timeoutMs: 9_000 } });
      expect(warnings).to.deep.equal([
        {
          obj: { tenant: 'acme', server: 'moved', serverId: first.id, changed: ['limits'] },
          msg: 'mcp gateway: moved is configured otherwise than registered (limits): reconfigured in place (same id, its tools served meanwhile), connecting with the new settings',
        },
      ]);
    } finally {
      await c.close();
    }
  });

  it('a start-up registration (ensureServer) with other limits reconfigures the server in place (same id); with the same, reuses it; the replica applies them', async () => {
    const spec = { ...examplesServer(actor, { name: 'cfg' }), tenant: 'acme' };
    const first = await a.ensureServer({ ...spec, limits: { timeoutMs: 5_000 } });
    const same = await a.ensureServer({ ...spec, limits: { timeoutMs: 5_000 } });
    expect(same.id).to.equal(first.id);
    const changed = await a.ensureServer({ ...spec, limits: { timeoutMs: 9_000 } });
    expect(changed.id).to.equal(first.id);
    expect(changed.limits).to.deep.equal({ timeoutMs: 9_000 });
    await until('replica B reconnects with the new limits', () => b.upstream(first.id)?.spec.limits?.timeoutMs === 9_000 && b.listServers('acme')[0]?.limits?.timeoutMs === 9_000);
    const dropped = await a.ensureServer(spec);
    expect(dropped.id).to.equal(first.id);
    expect(dropped).to.not.have.property('limits');
    expect((await registrations(storeA)).map((e) => e.version)).to.deep.equal([2]);
    const reconfigured = (await storeA.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerReconfigured');
    expect(reconfigured.map((e) => [e.stream, e.data.limits, e.data.changed])).to.deep.equal([
      [`mcpserver-${first.id}`, { timeoutMs: 9_000 }, ['limits']],
      [`mcpserver-${first.id}`, undefined, ['limits']],
    ]);
    await until('replica B drops the limits', () => b.upstream(first.id)?.spec.limits === undefined && b.listServers('acme')[0] !== undefined && !('limits' in b.listServers('acme')[0]));
  });

  it("a replica that learns of the server from the log (McpServerRegistered v5) connects under the server's own connectTimeoutMs, and its timeout says so", async () => {
    // A stdio server that starts and never answers (its gate is never opened): each replica runs its own.
    const spec = { tenant: 'acme', actor, name: 'hung', transport: 'stdio' as const, command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, join(dir, 'started'), join(dir, 'never')] };
    const down = await a.registerServer({ ...spec, limits: { connectTimeoutMs: 1000 } });
    expect(down.healthReason).to.match(/within 1000 ms, while connecting \(the server's own connectTimeoutMs\)$/);
    expect((await registrations(storeA)).map((e) => e.version)).to.deep.equal([5]);
    await until('replica B attaches the server with its limits', () => b.upstream(down.id)?.spec.limits?.connectTimeoutMs === 1000);
    const err = await b.upstream(down.id)!.connect().then(() => undefined, (e: unknown) => e as { code?: string; message?: string });
    expect(err).to.include({ code: 'MCP_UPSTREAM_TIMEOUT' });
    expect(err?.message).to.match(/no answer to initialize within 1000 ms, while connecting \(the server's own connectTimeoutMs\)$/);
  });
});
