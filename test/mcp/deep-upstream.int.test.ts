import { expect } from 'chai';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { MAX_RESULT_DEPTH } from '../../src/mcp/upstream';
import { openTempSqliteStore } from './support/stores';
import { MemoryCache } from '../../src/cache/memory';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { resultCacheKey } from '../../src/mcp/result-cache';

const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code: string; message: string; details?: Record<string, unknown>; rpcData?: unknown });

/**
 * An upstream answering results and error data nested deeper than the audit can hash (RFC 8785 is
 * recursive; V8's stack gave out near 3,000 levels): the call ends failed, on record, and the
 * upstream stays connected. Before, such a result threw a RangeError after ToolCallRequested: no
 * outcome recorded, the caller told "internal error"; deeper ones dropped a healthy connection.
 */
describe('MCP gateway: an upstream answering deeper than the audit can hash', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let serverId: string;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'store', cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const s = await gateway.registerServer({ ...ctx, name: 'deep', transport: 'stdio', command: process.execPath, args: [join(__dirname, 'support', 'deep-upstream.cjs')] });
    expect(s.health).to.equal('up');
    serverId = s.id;
  });

  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  /** The events of the last call made. */
  async function lastCall(): Promise<RecordedEvent[]> {
    const calls = await db.store.readAll({ limit: 10_000, streamPrefix: 'toolcall-' });
    const stream = calls[calls.length - 1].stream;
    return calls.filter((e) => e.stream === stream);
  }

  it(`a result ${MAX_RESULT_DEPTH} levels deep is passed on and recorded`, async () => {
    const r = await gateway.callTool(ctx, 'deep__deep', { n: MAX_RESULT_DEPTH - 1 });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'deep' }]);
    expect((await lastCall()).map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted']);
  });

  for (const n of [MAX_RESULT_DEPTH, 5_000, 50_000]) {
    it(`a result nested ${n + 1} levels deep: withheld, ToolCallFailed recorded (AUDIT_UNAVAILABLE naming the depth), the upstream still connected`, async () => {
      const err = await failure(gateway.callTool(ctx, 'deep__deep', { n }));
      expect(err?.code).to.equal('AUDIT_UNAVAILABLE');
      expect(err?.message).to.include(`deeper than ${MAX_RESULT_DEPTH} levels`);
      const events = await lastCall();
      expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
      expect((events[1].data as { error: { code: string; message: string } }).error.code).to.equal('AUDIT_UNAVAILABLE');
      const u = gateway.upstream(serverId)!;
      expect(u.health).to.equal('up');
      expect(u.circuit).to.equal('closed');
      expect((await gateway.callTool(ctx, 'deep__deep', { n: 0 })).content).to.deep.equal([{ type: 'text', text: 'deep' }]);
    });
  }

  for (const as of ['log', 'progress']) {
    it(`a ${as} notification whose data nests 50,000 levels deep during a call: the call answers, recorded, the upstream up`, async () => {
      const r = await gateway.callTool(ctx, 'deep__deep', { n: 50_000, as }, { onProgress: () => {} });
      expect(r.content).to.deep.equal([{ type: 'text', text: 'deep' }]);
      expect((await lastCall()).map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted']);
      expect(gateway.upstream(serverId)!.health).to.equal('up');
    });
  }

  it("an error whose data nests too deep: the upstream's code and message passed on, its data left out, ToolCallFailed recorded", async () => {
    const err = await failure(gateway.callTool(ctx, 'deep__deep', { n: 5_000, as: 'error' }));
    expect(err?.code).to.equal('MCP_UPSTREAM_ERROR');
    expect(err?.message).to.include('too deep to say');
    expect(err?.details?.rpcCode).to.equal(-32010);
    expect(err?.rpcData).to.equal(undefined);
    expect((await lastCall()).map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
    expect(gateway.upstream(serverId)!.health).to.equal('up');
  });
});

/**
 * An upstream listing a tool whose schema nests deeper than the audit can hash: that tool is left
 * out of the catalog (warned, named with why), its other tools kept and the server up. Before, a
 * schema some 2,500 levels deep overflowed the stack while the discovery was hashed, so none of the
 * server's tools was recorded; some 3,500 and deeper, while the listing was measured, so the server
 * was recorded down ("Maximum call stack size exceeded") and never listed.
 */
describe('MCP gateway: an upstream listing a tool whose schema nests deeper than the audit can hash', function () {
  this.timeout(60_000);

  for (const [env, n] of [['DEEP_SCHEMA', MAX_RESULT_DEPTH], ['DEEP_SCHEMA', 3_000], ['DEEP_SCHEMA', 6_000], ['DEEP_SCHEMA', 50_000], ['DEEP_OUTPUT_SCHEMA', 2_500], ['DEEP_OUTPUT_SCHEMA', 3_500], ['DEEP_OUTPUT_SCHEMA', 50_000]] as const) {
    it(`${env}=${n}: that tool left out and said why, the server's other tools listed, the server up`, async () => {
      const db = await openTempSqliteStore();
      const warnings: { msg?: string; obj: { skipped?: { name: string; why: string }[] } }[] = [];
      const logger = { warn: (obj: never, msg?: string) => warnings.push({ obj, msg }), info() {}, debug() {}, error() {} };
      const gateway = new McpGateway({ store: db.store, payloadPolicy: 'store', cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, logger: logger as never });
      try {
        await gateway.start();
        const s = await gateway.registerServer({ ...ctx, name: 'deep', transport: 'stdio', command: process.execPath, args: [join(__dirname, 'support', 'deep-upstream.cjs')], env: { [env]: String(n) } });
        expect(s.health).to.equal('up');
        await gateway.close();
        const events = await db.store.readAll({ limit: 100 });
        const discovered = events.find((e) => e.type === 'McpServerToolsDiscovered');
        expect((discovered?.data as { tools: { name: string }[] } | undefined)?.tools.map((t) => t.name)).to.deep.equal(['deep']);
        const skipped = warnings.flatMap((w) => w.obj.skipped ?? []);
        expect(skipped).to.have.length(1);
        expect(skipped[0].name).to.equal('schema');
        expect(skipped[0].why).to.include(`deeper than ${MAX_RESULT_DEPTH} levels`);
      } finally {
        await gateway.close();
        await db.cleanup();
      }
    });
  }
});

/**
 * A tool whose outputSchema refers to itself: the MCP SDK validates each result against it (Ajv,
 * recursive) before the gateway measures it. A result too deep for that is withheld as any result
 * too deep to hash. Before, the SDK's stack overflow was passed on as if the upstream had answered
 * -32602 ("Failed to validate structured content: Maximum call stack size exceeded").
 */
describe('MCP gateway: a result deeper than the audit can hash, of a tool whose outputSchema refers to itself', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'store', cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const s = await gateway.registerServer({ ...ctx, name: 'deep', transport: 'stdio', command: process.execPath, args: [join(__dirname, 'support', 'deep-upstream.cjs')], env: { RECURSIVE_OUTPUT_SCHEMA: '1' } });
    expect(s.health).to.equal('up');
  });

  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  it(`a result ${MAX_RESULT_DEPTH} levels deep is validated, passed on`, async () => {
    expect((await gateway.callTool(ctx, 'deep__deep', { n: MAX_RESULT_DEPTH - 1 })).structuredContent).to.be.an('object');
  });

  for (const n of [MAX_RESULT_DEPTH, 50_000]) {
    it(`a result nested ${n + 1} levels deep: withheld, AUDIT_UNAVAILABLE naming the depth`, async () => {
      const err = await failure(gateway.callTool(ctx, 'deep__deep', { n }));
      expect(err?.code).to.equal('AUDIT_UNAVAILABLE');
      expect(err?.message).to.include(`deeper than ${MAX_RESULT_DEPTH} levels`);
    });
  }
});

/**
 * A cached result deeper than the audit can hash (an entry an earlier release wrote, which did not
 * measure results, or anyone who can write to Redis): the entry is not used, the upstream is
 * called. Before, one some 3,000 levels deep exhausted the stack while hashed after
 * ToolCallRequested (no outcome recorded), and a deeper one while made well-formed (recorded as
 * the upstream unavailable, "Maximum call stack size exceeded").
 */
describe('MCP gateway: a cached result deeper than the audit can hash', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let serverId: string;
  const cache = new MemoryCache();

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'store', cache, cacheTtlMs: 60_000, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    serverId = (await gateway.registerServer({ ...ctx, name: 'deep', transport: 'stdio', command: process.execPath, args: [join(__dirname, 'support', 'deep-upstream.cjs')] })).id;
  });

  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  for (const n of [3_000, 50_000]) {
    it(`an entry nested ${n} levels deep is not used: the upstream answers, ToolCallCompleted recorded (not cached)`, async () => {
      const args = { n: 0, as: 'result', entry: n };
      const entry = `{"content":[],"structuredContent":${'{"a":'.repeat(n - 2)}{}${'}'.repeat(n - 2)}}`;
      await cache.set(resultCacheKey('acme', serverId, 'deep', payloadDigest(args).hash), entry);
      const r = await gateway.callTool(ctx, 'deep__deep', args);
      expect(r.content).to.deep.equal([{ type: 'text', text: 'deep' }]);
      const calls = await db.store.readAll({ limit: 10_000, streamPrefix: 'toolcall-' });
      const last = calls.filter((e) => e.stream === calls[calls.length - 1].stream);
      expect(last.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted']);
      expect((last[1].data as { cached: boolean }).cached).to.equal(false);
    });
  }
});
