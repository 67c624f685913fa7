import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { serversFileSource } from '../../src/mcp/config-source';
import { mcpServersProjection, type McpServerDoc } from '../../projections/mcp-servers.projection';
import { until } from './support/until';

const actor = { kind: 'system' as const, id: 'openmcp' };
const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
/** Never in the log: a value given as such (an MCP_SERVERS_FILE entry's env). */
const LITERAL = `moved-${Math.random().toString(36).slice(2)}`;
/**
 * How long a wait for a condition (an upstream process started and connected, one ended) may take
 * before the test fails: a last guard, far above what it takes, for a machine under heavy load
 * where starting a stdio server (node and tsx) takes many seconds.
 */
const WAIT_MS = 60_000;
/** The MCP SDK's StdioClientTransport.close(): stdin ended, then this long before SIGTERM. */
const SDK_CLOSE_GRACE_MS = 2_000;

/** Call `tool` through `gw` one call after another until stopped; every failure is kept. */
function callContinuously(gw: McpGateway, tool: string) {
  const failures: string[] = [];
  let calls = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const r = await gw.callTool(ctx, tool, { text: `call ${calls}` });
        if (r.isError) failures.push(`isError: ${JSON.stringify(r.content)}`);
        calls++;
      } catch (err) {
        failures.push(`${(err as { code?: string }).code}: ${(err as Error).message}`);
        // A failing lookup fails at once: do not spin.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  })();
  return {
    failures,
    get calls() {
      return calls;
    },
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/**
 * A configured server (MCP_SERVERS_FILE, `examples`) whose settings changed since it was registered
 * (an edited entry; a release installed elsewhere) is reconfigured in place: same id, its tools
 * kept in every catalog meanwhile, its upstream reconnected with the new settings.
 */
describe('MCP gateway: a configured server whose settings change is reconfigured in place (McpServerReconfigured)', function () {
  this.timeout(240_000);
  let dir: string;
  let url: string;
  const stores: EventStore[] = [];
  const gateways: McpGateway[] = [];
  const open = async () => {
    const store = await openSqlEventStore(url, { pollIntervalMs: 50 });
    stores.push(store);
    return store;
  };
  const gateway = async () => {
    // Starting a stdio server (its connect) and a call may take that long under load: the
    // defaults (10 s, 30 s) are a production's choice, not a bound this test checks.
    const gw = new McpGateway({ store: await open(), cacheTtlMs: 0, upstream: { healthIntervalMs: 0, connectTimeoutMs: WAIT_MS, callTimeoutMs: WAIT_MS } });
    gateways.push(gw);
    await gw.start();
    return gw;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-reconfig-'));
    url = `sqlite:${join(dir, 'events.db')}`;
  });
  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.close();
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client calling its tool continuously across a restart with changed settings sees no failure, on a replica and on the restarted process; the server keeps its id; the log, catalogs and projection have the new settings', async () => {
    const before = { ...examplesServer(actor, { name: 'cfg' }), tenant: 'acme' };
    // What a release installed elsewhere and an edited entry change: the arguments, the environment.
    const after = { ...before, args: ['--no-deprecation', ...before.args!], env: { MOVED: LITERAL } };

    const first = await gateway();
    const registered = await first.ensureServer(before, serversFileSource('cfg'));
    expect(registered.health, registered.healthReason).to.equal('up');
    const replica = await gateway();
    await until('the replica connects and lists the tools', () => replica.upstream(registered.id)?.health === 'up' && replica.listTools('acme').some((t) => t.name === 'cfg__echo'), WAIT_MS);
    let listChanged = 0;
    replica.onToolsChanged(() => listChanged++);

    const onReplica = callContinuously(replica, 'cfg__echo');
    await until('calls flow', () => onReplica.calls >= 3, WAIT_MS);
    // The restart: the process stops, and starts again with the new settings.
    await first.close();
    const restarted = await gateway();
    const onRestarted = callContinuously(restarted, 'cfg__echo');
    const reconfigured = await restarted.ensureServer(after, serversFileSource('cfg'));
    const current = (gw: McpGateway) => gw.listServers('acme').find((x) => x.name === 'cfg');
    await until('the replica reconnected with the new settings', () => {
      const u = replica.upstream(current(replica)?.id ?? '');
      return JSON.stringify(u?.spec.args) === JSON.stringify(after.args) && u?.health === 'up' && replica.listTools('acme').some((t) => t.name === 'cfg__echo');
    }, WAIT_MS);
    const [r0, s0] = [onReplica.calls, onRestarted.calls];
    await until('calls over the new connections', () => onReplica.calls >= r0 + 3 && onRestarted.calls >= s0 + 3, WAIT_MS);
    await onReplica.stop();
    await onRestarted.stop();

    expect(onReplica.failures, 'calls through the replica').to.deep.equal([]);
    expect(onRestarted.failures, 'calls through the restarted process').to.deep.equal([]);
    expect(reconfigured.id).to.equal(registered.id);
    expect(reconfigured).to.deep.include({ health: 'up', args: after.args, envKeys: ['MOVED'] });
    expect(restarted.upstream(registered.id)?.spec.env, 'the restarted process has the value').to.deep.equal({ MOVED: LITERAL });
    for (const gw of [restarted, replica]) {
      const s = gw.listServers('acme').filter((x) => x.name === 'cfg');
      expect(s.map((x) => [x.id, x.args, x.envKeys])).to.deep.equal([[registered.id, after.args, ['MOVED']]]);
    }
    // The tools stayed the same: no tools/list_changed for the replica's sessions.
    expect(listChanged).to.equal(0);

    const events = (await stores[0].readAll({ limit: 10_000 })).filter((e) => e.stream.startsWith('mcpserver-'));
    expect(new Set(events.map((e) => e.stream))).to.deep.equal(new Set([`mcpserver-${registered.id}`]));
    expect(events.map((e) => e.type)).to.not.include('McpServerRemoved');
    expect(events.filter((e) => e.type === 'McpServerRegistered')).to.have.length(1);
    const changes = events.filter((e) => e.type === 'McpServerReconfigured');
    expect(changes.map((e) => [e.version, e.tenant, e.actor, e.data])).to.deep.equal([
      [1, 'acme', actor, { name: 'cfg', transport: 'stdio', command: before.command, args: after.args, envKeys: ['MOVED'], changed: ['args', 'env'] }],
    ]);
    for (const e of events) catalog.validate(e.type, e.version, e.data);
    expect(JSON.stringify(events)).to.not.include(LITERAL);

    const docs = new Map<string, McpServerDoc | undefined>();
    for (const e of events) {
      if (!mcpServersProjection.canHandle(e)) continue;
      const id = mcpServersProjection.documentId(e);
      docs.set(id, mcpServersProjection.evolve(docs.get(id), e));
    }
    expect(docs.get(registered.id)).to.deep.include({ id: registered.id, name: 'cfg', command: before.command, args: after.args, envKeys: ['MOVED'], removed: false });
    expect(docs.get(registered.id)!.health).to.equal('up');
  });

  it('a call in flight on the old connection finishes there; calls made after the change go to the new one; the old process ends after its call', async () => {
    const gw = await gateway();
    const before = { ...examplesServer(actor, { name: 'slow', testTools: true }), tenant: 'acme' };
    const s = await gw.ensureServer(before, serversFileSource('slow'));
    const oldPid = gw.upstream(s.id)!.pid!;
    expect(oldPid).to.be.a('number');
    expect((await gw.callTool(ctx, 'slow__count', { key: 'k' })).content).to.deep.equal([{ type: 'text', text: 'k:1' }]);
    // In flight until the test lets it go (a file): not for a fixed time, which the change (a new
    // process to start, slow on a loaded machine) could outlast, ending the call before the checks.
    const gate = join(dir, 'release-the-call');
    const inFlight = gw.callTool(ctx, 'slow__hold', { path: gate });
    await until('the call reached the old process', () => gw.upstream(s.id)!.inFlight === 1, WAIT_MS);
    const changed = await gw.ensureServer({ ...before, args: ['--no-deprecation', ...before.args!] }, serversFileSource('slow'));
    const changedAt = Date.now();
    expect(changed.id).to.equal(s.id);
    const newPid = gw.upstream(s.id)!.pid;
    expect(newPid).to.be.a('number').and.not.equal(oldPid);
    // The new process counts from 1: the call went to it.
    expect((await gw.callTool(ctx, 'slow__count', { key: 'k' })).content).to.deep.equal([{ type: 'text', text: 'k:1' }]);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Held past the SDK's own grace for a closing stdio process (2 s, then SIGTERM): an old
    // connection closed at the change, call or no call, would show here. A lower bound only: a
    // slower machine holds the call longer, never less.
    await new Promise((r) => setTimeout(r, Math.max(0, changedAt + SDK_CLOSE_GRACE_MS + 500 - Date.now())));
    expect(alive(oldPid), 'the old process serves its call').to.equal(true);
    writeFileSync(gate, '');
    expect((await inFlight).content).to.deep.equal([{ type: 'text', text: `released by ${gate}` }]);
    await until('the old process ended', () => !alive(oldPid), WAIT_MS);
    expect(alive(newPid!)).to.equal(true);
  });
});
