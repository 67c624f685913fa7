import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/core/envelope';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { startCluster, type Cluster, type ClusterProcess } from '../support/cluster';
import { mysqlAvailable, redisAvailable, requireService } from '../support/services';

/**
 * Graceful drain on SIGTERM with two agent worker processes: /readyz answers 503 while draining,
 * a run that finishes within the grace period is finished by the draining worker, one that does
 * not is handed back (TaskLeaseReleased) and the other worker resumes it at once; the process
 * exits 0 within SHUTDOWN_DEADLINE_MS.
 */
describe('graceful drain (SIGTERM) of agent worker processes', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let store: EventStore;
  let dir: string;
  let api: ClusterProcess;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    await requireService(this, 'Redis', redisAvailable);
    dir = mkdtempSync(join(tmpdir(), 'omc-drain-'));
    const servers = join(dir, 'servers.json');
    // The bundled examples server with its test tools (sleep) under another name.
    writeFileSync(servers, JSON.stringify({ mcpServers: { slow: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } } } }));
    cluster = await startCluster({ MCP_SERVERS_FILE: servers, SHUTDOWN_DEADLINE_MS: '6000', AGENT_TASK_LEASE_MS: '60000' });
    api = await cluster.spawn('api', 'api,gateway');
    store = await openSqlEventStore(cluster.databaseUrl);
  });
  after(async () => {
    await store?.close();
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function submit(ms: number): Promise<string> {
    const res = await fetch(`${api.url}/v1/tasks`, { method: 'POST', headers: cluster.headers, body: JSON.stringify({ steps: [{ tool: 'slow__sleep', arguments: { ms } }] }) });
    expect(res.status, await res.clone().text()).to.equal(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function waitFor(id: string, until: (es: RecordedEvent[]) => boolean, ms = 60_000): Promise<RecordedEvent[]> {
    const end = Date.now() + ms;
    for (;;) {
      const es = await store.readStream(`task-${id}`);
      if (until(es)) return es;
      if (Date.now() > end) throw new Error(`task ${id}: ${es.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const has = (type: string) => (es: RecordedEvent[]) => es.some((e) => e.type === type);
  const holderOf = (es: RecordedEvent[], workers: ClusterProcess[]) => {
    const w = (es.filter((e) => e.type === 'TaskLeased').at(-1)!.data as { worker: string }).worker;
    return workers.find((p) => w.endsWith(`-${p.child.pid}`))!;
  };

  it('hands back a run that outlasts the grace period: the other worker resumes it at once; /readyz is 503 meanwhile; exit 0 within the deadline', async () => {
    const workers = await Promise.all([cluster.spawn('agent-1', 'agent'), cluster.spawn('agent-2', 'agent')]);
    // Past the grace period (SHUTDOWN_DEADLINE_MS / 2 = 3 s after the SIGTERM, sent once the step
    // is seen started) with 4 s to spare; the worker that resumes it sleeps it again.
    const id = await submit(7_000);
    const started = await waitFor(id, has('TaskStepStarted'));
    const holder = holderOf(started, workers);
    const t0 = Date.now();
    holder.child.kill('SIGTERM');
    // When it exited, taken at the exit: not when this test gets round to looking.
    let exit: { code: number | null; at: number } | undefined;
    const exited = new Promise<{ code: number | null; at: number }>((r) => holder.child.once('exit', (code) => r((exit = { code, at: Date.now() }))));
    // Until it shows it is draining or has exited, not a fixed number of polls: a loaded worker
    // may take a while to get to the signal, and then drains for the 3 s grace period.
    let sawDraining = false;
    while (!sawDraining && exit === undefined && Date.now() - t0 < 30_000) {
      const r = await fetch(`${holder.url}/readyz`).catch(() => undefined);
      if (r?.status === 503) sawDraining = ((await r.json()) as { dependencies: { name: string }[] }).dependencies.some((d) => d.name === 'lifecycle');
      if (!sawDraining) await new Promise((res) => setTimeout(res, 100));
    }
    expect(sawDraining, '/readyz 503 while draining').to.equal(true);
    const { code, at } = await exited;
    expect(code).to.equal(0);
    expect(at - t0).to.be.below(6_000 + 2_000);
    const events = await waitFor(id, has('TaskCompleted'), 90_000);
    const released = events.filter((e) => e.type === 'TaskLeaseReleased');
    expect(released).to.have.length(1);
    const leases = events.filter((e) => e.type === 'TaskLeased').map((e) => e.data as { worker: string; term: number });
    const other = workers.find((w) => w !== holder)!;
    expect(leases.at(-1)).to.include({ term: 2 });
    expect(leases.at(-1)!.worker.endsWith(`-${other.child.pid}`)).to.equal(true);
    // Taken back right after the hand-back, not after the 60 s lease expired.
    const handedBack = Date.parse(released[0].occurredAt);
    const retaken = Date.parse(events.find((e) => e.type === 'TaskLeased' && (e.data as { term: number }).term === 2)!.occurredAt);
    expect(retaken - handedBack).to.be.below(10_000);
    await other.stop('SIGKILL');
  });

  it('finishes a run that ends within the grace period instead of handing it back', async () => {
    const worker = await cluster.spawn('agent-3', 'agent');
    const id = await submit(1_000);
    await waitFor(id, has('TaskStepStarted'));
    worker.child.kill('SIGTERM');
    expect(await new Promise((r) => worker.child.once('exit', (code) => r(code)))).to.equal(0);
    const events = await store.readStream(`task-${id}`);
    expect(events.map((e) => e.type)).to.include('TaskCompleted');
    expect(events.map((e) => e.type)).not.to.include('TaskLeaseReleased');
  });
});
