import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const acme = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'acme-bot' } };
const beta = { tenant: 'beta', actor: { kind: 'agent' as const, id: 'beta-bot' } };

/**
 * A shared server (tenant `*`) serves every tenant from one set of slots and one queue: one
 * tenant sending calls faster than it answers must not hold the others off it (before: its
 * backlog ran first, first come first served, and a queue it filled refused every other tenant
 * MCP_UPSTREAM_BUSY).
 */
describe('MCP gateway: a shared server shares its slots and queue fairly between tenants', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;

  beforeEach(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, callTimeoutMs: 15_000, maxQueue: 4 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    await gateway.registerServer({ tenant: '*', actor: { kind: 'system', id: 'openmcp' }, name: 'beh', transport: 'http', url: upstream.url, limits: { maxConcurrent: 1 } });
  });

  afterEach(async function () {
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  /** Once call `id`'s ToolCallRequested is recorded: the gateway then queues it for a slot at once. */
  const queued = (id: string) =>
    until(`${id} waits for a slot`, async () =>
      (await db.store.readAll({ limit: 10_000 })).some((e) => e.type === 'ToolCallRequested' && (e.data as { argumentsJson?: string }).argumentsJson === JSON.stringify({ id })),
    ).then(() => new Promise((r) => setImmediate(r)));

  /** A `hold` call of `ctx` that runs until aborted. */
  function hold(ctx: typeof acme, id: string) {
    const ac = new AbortController();
    const call = gateway.callTool(ctx, 'beh__hold', { id }, { signal: ac.signal });
    const outcome = call.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
    return { id, stop: () => ac.abort('done'), outcome };
  }

  it("another tenant's call runs in the next slot freed, ahead of the first tenant's backlog", async () => {
    const a = [hold(acme, 'a1'), hold(acme, 'a2')];
    await until('a1 runs', () => upstream.started.includes('a1'));
    await queued('a2');
    const b = hold(beta, 'b1');
    await queued('b1');
    a[0].stop();
    await until('the next call runs', () => upstream.started.length >= 2);
    expect(upstream.started.slice(0, 2)).to.deep.equal(['a1', 'b1']);
    for (const x of [...a, b]) x.stop();
    await Promise.all([...a, b].map((x) => x.outcome));
  });

  it("a tenant fills at most half the queue: another tenant's call still waits its turn rather than being refused busy", async () => {
    const a = [hold(acme, 'a1'), hold(acme, 'a2'), hold(acme, 'a3')];
    await until('a1 runs', () => upstream.started.includes('a1'));
    await queued('a2');
    await queued('a3');
    const over = hold(acme, 'a4');
    expect(await over.outcome, "acme's third queued call").to.equal('MCP_UPSTREAM_BUSY');
    const b = hold(beta, 'b1');
    await queued('b1');
    a[0].stop();
    await until('b1 runs', () => upstream.started.includes('b1'));
    for (const x of [...a, b]) x.stop();
    expect(await b.outcome).to.not.equal('MCP_UPSTREAM_BUSY');
    await Promise.all(a.map((x) => x.outcome));
  });
});
