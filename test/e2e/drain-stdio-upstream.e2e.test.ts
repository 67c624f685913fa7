import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { openStores } from '../../src/app/open-stores';
import { loadConfig } from '../../src/config';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { httpClient } from '../mcp/support/clients';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

/** Whether `pid` still runs: a killed child whose new parent does not reap it (a container's PID 1) is a zombie, not running. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The stdio upstreams `openmcp start` (process `parent`) has started: their pids. */
function stdioChildren(parent: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)]).toString();
  return out.split('\n').filter((l) => l.includes(EXAMPLES_STDIO_SERVER)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('openmcp start: a drain while a stdio upstream runs a call that never ends', function () {
  this.timeout(180_000);
  let gw: GatewayProcess | undefined;
  let client: Client | undefined;
  let dir: string;
  let pids: number[] = [];

  after(async () => {
    await client?.close().catch(() => {});
    await gw?.stop('SIGKILL');
    for (const pid of pids) if (running(pid)) process.kill(pid, 'SIGKILL');
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends the call "shutting down" at its cut-off, records its ToolCallFailed, exits 0 and leaves the stdio upstream not running (it ran on to the deadline: exit 1, no outcome recorded)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-drain-stdio-'));
    const servers = join(dir, 'servers.json');
    writeFileSync(servers, JSON.stringify({ mcpServers: { slow: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } } } }));
    // The cut-off comes at 3/4 of the deadline; the last quarter (1 s here) is for closing, ~50 ms
    // on a quiet machine: with 1.5 s (375 ms to close) it ran past the deadline once in CI under load.
    gw = await startGatewayProcess({ MCP_SERVERS_FILE: servers, SHUTDOWN_DEADLINE_MS: '4000', OPENMCP_EXAMPLES: 'off' });
    // Its servers register in the background: the port opens first. (The waits below poll a
    // condition; their bounds are last guards for a loaded machine, not how long things take.)
    for (const until = Date.now() + 60_000; stdioChildren(gw.child.pid!).length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    pids = stdioChildren(gw.child.pid!);
    expect(pids).to.have.length(1);
    const adminKey = readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim();
    client = await httpClient(`${gw.url}/mcp`, adminKey);
    // Mid-call at the signal: the HTTP request stays in flight until the drain's cut-off ends it.
    // The call holds until a file that is never made exists: it cannot end by itself however slow
    // the steps before the signal are (a minute's sleep could, on a loaded machine).
    const call = client.callTool({ name: 'slow__hold', arguments: { path: join(dir, 'never-made') } }, undefined, { timeout: 170_000 }).catch((err: Error) => err);
    // Signal once the gateway has the call (a fixed pause was too short on a loaded machine: the drain then had nothing to wait for).
    const inFlight = async () => {
      const res = await fetch(`${gw!.url}/v1/tool-calls?server=slow&tool=hold&limit=1`, { headers: { authorization: `Bearer ${adminKey}` } });
      return ((await res.json()) as { items: { status: string }[] }).items[0]?.status === 'requested';
    };
    for (const until = Date.now() + 60_000; !(await inFlight()) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
    expect(await inFlight(), 'the call reached the gateway').to.equal(true);
    expect(running(pids[0])).to.equal(true);
    const stopped = gw.stop('SIGTERM');
    const err = await call;
    expect(await stopped, gw.output()).to.equal(0);
    expect(gw.output()).to.not.include('shutdown deadline');
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.include('shutting down');
    // A signal takes a moment to land (longer on a loaded machine); the call never ends by itself.
    for (const until = Date.now() + 30_000; running(pids[0]) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    expect(running(pids[0]), 'the stdio upstream still runs after the gateway exited').to.equal(false);
    // Recorded before its stores closed: the log read again has the call's outcome.
    const stores = await openStores(loadConfig({ DATA_DIR: gw.dataDir }));
    try {
      const events = await stores.store.readAll({ after: -1, limit: 1000, streamPrefix: 'toolcall-' });
      expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
      expect(events[1].data).to.deep.include({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: (err as Error).message.replace(/^MCP error -?\d+: /, '') } });
    } finally {
      await stores.close();
    }
  });
});
