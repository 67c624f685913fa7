import { expect } from 'chai';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { CALL_MAX_TIMEOUT_FACTOR } from '../../src/mcp/upstream';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

/**
 * A long tool that reports progress is not cut off by the call timeout (each progress notification
 * restarts it), whether or not the caller asked for progress; one that reports progress forever
 * is stopped at CALL_MAX_TIMEOUT_FACTOR times the timeout and cancelled upstream.
 */
describe('MCP gateway: call timeout and upstream progress', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    // A timeout of 1 s against progress every 150 ms: a loaded machine may pause the upstream for
    // a while between two notifications (with 400 ms, 250 ms of pause cut a reporting tool off).
    const info = await gateway.registerServer({ ...ctx, name: 'slow', transport: 'http', url: upstream.url, limits: { timeoutMs: 1_000 } });
    expect(info.health).to.equal('up');
  });

  after(async function () {
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  it('a tool reporting progress runs past the call timeout (the caller asked for no progress)', async function () {
    const r = await gateway.callTool(ctx, 'slow__progress', { steps: 12, everyMs: 150 });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'done 12' }]);
  });

  it('and the caller that asked for progress gets every notification', async function () {
    const seen: Progress[] = [];
    const r = await gateway.callTool(ctx, 'slow__progress', { steps: 6, everyMs: 150 }, { onProgress: (p) => seen.push(p) });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'done 6' }]);
    expect(seen.map((p) => p.progress)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('a quiet tool still times out at the call timeout', async function () {
    const err = await gateway.callTool(ctx, 'slow__hold', { id: 'quiet', ms: 3_000 }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'MCP_UPSTREAM_TIMEOUT');
    expect((err as Error).message).to.contain('nor progress, within 1000 ms');
  });

  it(`a tool reporting progress forever fails at ${CALL_MAX_TIMEOUT_FACTOR} times the timeout, cancelled upstream`, async function () {
    // Its own server with a 500 ms timeout, and progress every 20 ms (480 ms of pause allowed):
    // at 1 s the test would take 10 s.
    await gateway.registerServer({ ...ctx, name: 'forever', transport: 'http', url: upstream.url, limits: { timeoutMs: 500 } });
    const err = await gateway.callTool(ctx, 'forever__progress', { steps: 100_000, everyMs: 20 }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'MCP_UPSTREAM_TIMEOUT');
    expect((err as Error).message).to.contain(`within ${500 * CALL_MAX_TIMEOUT_FACTOR} ms`);
    const deadline = Date.now() + 5_000;
    while (!upstream.cancelled.some((c) => c.startsWith('progress ')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.cancelled.some((c) => c.startsWith('progress '))).to.equal(true);
    const failed = (await db.store.readAll({ limit: 1_000 })).filter((e) => e.type === 'ToolCallFailed').map((e) => (e.data as { error: { code: string } }).error.code);
    expect(failed).to.deep.equal(['MCP_UPSTREAM_TIMEOUT', 'MCP_UPSTREAM_TIMEOUT']);
  });
});
