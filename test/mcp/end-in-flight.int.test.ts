/**
 * McpGateway.endInFlight, a drain's cut-off (startOpenMcp's drain): every call in flight, running
 * upstream or queued for a slot, ends "shutting down" (DEPENDENCY_UNAVAILABLE) with its
 * ToolCallFailed recorded and is cancelled upstream; a call after it fails at once, nothing recorded.
 * Calls without a signal of their own all listen on the gateway's one shutdown signal: many at once
 * must not make Node warn of a leak (MaxListenersExceededWarning past 10 listeners).
 */
import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

describe('MCP gateway: endInFlight (a drain cut-off) ends the calls in flight "shutting down"', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, callTimeoutMs: 50_000 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    await gateway.registerServer({ tenant: 'acme', actor, name: 'beh', transport: 'http', url: upstream.url, limits: { maxConcurrent: 12 } });
    process.on('warning', onWarning);
  });
  after(async () => {
    process.off('warning', onWarning);
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  const toolCalls = async (): Promise<RecordedEvent[]> => (await db.store.readAll({ after: -1, limit: 10_000, streamPrefix: 'toolcall-' }));

  it('16 calls (12 running upstream, 4 queued): each fails DEPENDENCY_UNAVAILABLE, recorded, cancelled upstream; Node warns of no leak; the circuit stays closed; a call after it is refused unrecorded', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    const calls = ids.map((id) => gateway.callTool(ctx, 'beh__hold', { id, ms: 50_000 }).then(() => 'answered', (err: { code?: string; message?: string }) => err));
    await until('12 run upstream', () => upstream.started.length === 12);
    await until('16 recorded', async () => (await toolCalls()).filter((e) => e.type === 'ToolCallRequested').length === 16);

    gateway.endInFlight();
    const ended = await Promise.all(calls);
    for (const e of ended) expect(e).to.deep.include({ code: 'DEPENDENCY_UNAVAILABLE', message: 'this gateway is shutting down; send it again (another replica answers, or this one once restarted)' });
    await until('the upstream heard the cancellations', () => upstream.cancelled.length === 12);
    const failed = (await toolCalls()).filter((e) => e.type === 'ToolCallFailed');
    expect(failed.map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(Array(16).fill('DEPENDENCY_UNAVAILABLE'));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String)).to.deep.equal([]);
    // The gateway's own ending says nothing of the upstream: its circuit stays closed, no "down" recorded.
    expect(gateway.status().upstreams.map((u) => u.circuit)).to.deep.equal(['closed']);
    const health = await db.store.readAll({ after: -1, limit: 10_000 });
    expect(health.filter((e) => e.type === 'McpServerHealthChanged' && (e.data as { status: string }).status === 'down').map((e) => e.data)).to.deep.equal([]);

    const before = (await toolCalls()).length;
    const late = await gateway.callTool(ctx, 'beh__hold', { id: 'late' }).catch((err: { code?: string }) => err);
    expect(late).to.deep.include({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect((await toolCalls()).length, 'nothing recorded of a call after the cut-off').to.equal(before);
  });
});
