import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'test' };
const acme = { tenant: 'acme', actor };
const ENDING_SERVER = join(__dirname, 'support', 'ending-server.ts');
const LINGERING_SERVER = join(__dirname, 'support', 'lingering-server.ts');
const stdio = { actor, transport: 'stdio' as const, command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ENDING_SERVER] };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const messageOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);

/**
 * A stdio upstream's connection lost in the middle of a call: the caller, the recorded
 * ToolCallFailed and the server's health are told why — how its process ended, what the transport
 * could not read, the server's removal — not only the SDK's "MCP error -32000: Connection closed",
 * whose code is also one an upstream may answer with (MCP_UPSTREAM_ERROR), and which said none of it.
 */
describe('MCP stdio upstream: a connection lost during a call says why', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, cacheTtlMs: 0, upstream: { connectTimeoutMs: 20_000, healthIntervalMs: 0, retries: 0, retryBackoffMs: 10 } });
    await gateway.start();
    for (const [tenant, name] of [['acme', 'own'], ['*', 'shared']]) expect((await gateway.registerServer({ ...stdio, tenant, name })).health).to.equal('up');
  });
  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  const recorded = async () => (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallFailed').map((e) => (e.data.error as { message: string }).message);

  it("a process that exits: its exit code, for a tenant's own server and a shared one", async () => {
    expect(await messageOf(gateway.callTool(acme, 'own__exit', { code: 7 }))).to.equal('MCP_UPSTREAM_UNAVAILABLE: own: the connection closed: the process exited with code 7');
    expect(await messageOf(gateway.callTool(acme, 'shared__exit', { code: 5 }))).to.equal('MCP_UPSTREAM_UNAVAILABLE: shared: the connection closed: the process exited with code 5');
    expect((await recorded()).slice(-2)).to.deep.equal(['own: the connection closed: the process exited with code 7', 'shared: the connection closed: the process exited with code 5']);
  });

  it('an answer too large for the stdio transport: the limit it passed, to its own tenant', async () => {
    const message = await messageOf(gateway.callTool(acme, 'own__big', { chars: 11 * 1024 * 1024 }));
    expect(message).to.match(/^MCP_UPSTREAM_UNAVAILABLE: own: the connection closed after the transport's error: ReadBuffer exceeded maximum size of 10485760 bytes; the process (exited|was ended)/);
    // A shared server's callers get the gateway's words only: the transport's error may quote what the process wrote.
    expect(await messageOf(gateway.callTool(acme, 'shared__big', { chars: 11 * 1024 * 1024 }))).to.match(/^MCP_UPSTREAM_UNAVAILABLE: shared: the connection closed: the process (exited|was ended)/);
    // The next call starts the server again.
    expect(await messageOf(gateway.callTool(acme, 'own__big', { chars: 3 }))).to.equal('no error');
  });

  it('a server removed during the call: that the gateway closed the connection', async () => {
    const s = await gateway.registerServer({ ...stdio, tenant: 'acme', name: 'gone' });
    const hanging = messageOf(gateway.callTool(acme, 'gone__hang', {}));
    // Removed once the call reached the upstream (not after a fixed 300 ms, which a loaded machine
    // can outlast before the call is recorded and sent).
    await until('the call is in flight at the upstream', () => gateway.upstream(s.id)!.inFlight > 0);
    await gateway.removeServer('acme', s.id, actor);
    expect(await hanging).to.equal('MCP_UPSTREAM_UNAVAILABLE: gone: the connection closed: the gateway closed it (the server was removed, or the gateway is stopping)');
  });

  it('a server removed during a call, its process slow to end: the call fails at once and is cancelled upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lingering-'));
    try {
      const s = await gateway.registerServer({ ...stdio, args: ['--require', require.resolve('tsx/cjs'), LINGERING_SERVER], tenant: 'acme', name: 'lingers' });
      let pid = 0;
      // Whether the upstream's process was still running when the caller was answered: the call
      // fails with the removal, not once the SDK's close has waited for the process to end (4 s
      // and a SIGKILL for this one, which outlives its stdin and ignores SIGTERM).
      const failed = gateway.callTool(acme, 'lingers__linger', { dir }).then(
        () => 'no error',
        (e: Error & { code?: string }) => ({ message: `${e.code}: ${e.message}`, upstreamRunning: alive(pid) }),
      );
      await until('the call is running at the upstream', () => existsSync(join(dir, 'pid')));
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      const removed = gateway.removeServer('acme', s.id, actor);
      expect(await failed).to.deep.equal({
        message: 'MCP_UPSTREAM_UNAVAILABLE: lingers: the connection closed: the gateway closed it (the server was removed, or the gateway is stopping)',
        upstreamRunning: true,
      });
      // And the tool was told to stop (notifications/cancelled), not left running until the process is killed.
      await until('the upstream heard the cancellation', () => existsSync(join(dir, 'cancelled')));
      await removed;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process that ends at start: its exit code in the health reason', async () => {
    const s = await gateway.registerServer({ actor, tenant: 'acme', name: 'quits', transport: 'stdio', command: process.execPath, args: ['-e', 'process.exit(4)'] });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.equal('quits: the connection closed: the process exited with code 4');
    // Gone before the gateway wrote initialize: that write's EPIPE is the exit's doing, not news.
    for (let i = 0; i < 3; i++) {
      const fast = await gateway.registerServer({ actor, tenant: 'acme', name: `instant-${i}`, transport: 'stdio', command: '/bin/sh', args: ['-c', 'exit 4'] });
      expect(fast.healthReason).to.equal(`instant-${i}: the connection closed: the process exited with code 4`);
    }
  });
});
