import { expect } from 'chai';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { MAX_RESULT_DEPTH } from '../../src/mcp/upstream';
import { openTempSqliteStore } from './support/stores';

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
