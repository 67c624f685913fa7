import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { AgentRuntimeDependencies, AgentRuntimeOptions } from '../../src/agent/runtime/runtime-deps';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, waitForTask } from './support/agent-fixture';

/** Shared by the workers of a test, like one MCP server behind two gateway processes: counts every call per task and step. */
class SharedTools implements ToolCaller {
  calls: { task?: string; args: Record<string, unknown> }[] = [];
  /** While set, calls hang until released (a worker stuck mid-step). */
  gate?: Promise<void>;
  tools: ToolInfo[] = [{ name: 'mail__send', description: 'send', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false } }];
  async callTool(ctx: ToolCallContext, _name: string, args: Record<string, unknown>) {
    this.calls.push({ task: ctx.taskId, args });
    if (this.gate) await this.gate;
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    return { content: [{ type: 'text', text: JSON.stringify(args) }] };
  }
  listTools() {
    return this.tools;
  }
}

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;

describe('task leases: workers share tasks without running one twice (two runtimes on one store)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let tools: SharedTools;
  let runtimes: AgentRuntime[] = [];

  /** Each worker's info lines, by worker name. */
  let infos: Record<string, { obj: Record<string, unknown>; msg?: string }[]> = {};
  function worker(name: string, opts: Partial<AgentRuntimeOptions> = {}): AgentRuntime {
    const lines: { obj: Record<string, unknown>; msg?: string }[] = (infos[name] = []);
    const logger = { info: (obj: unknown, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }), warn: () => {} };
    const deps: AgentRuntimeDependencies = { store, catalog, tools, cache: new MemoryCache(), policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['mail__*'] } }] }), privateKey: KEY, logger };
    const rt = new AgentRuntime(deps, { worker: name, stepTimeoutMs: 10_000, concurrency: 3, ...opts }, new MemoryCheckpointStore());
    runtimes.push(rt);
    return rt;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-lease-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
    tools = new SharedTools();
    runtimes = [];
    infos = {};
  });
  afterEach(async () => {
    await Promise.all(runtimes.map((r) => r.kill()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every task exactly once: one TaskLeased acquisition per task, each step called once', async () => {
    const a = worker('worker-a');
    const b = worker('worker-b');
    await Promise.all([a.start(), b.start()]);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await submitTask(store, 'acme', { steps: [0, 1, 2].map((s) => ({ tool: 'mail__send', arguments: { i, s } })) }));
    const byWorker = new Map<string, number>();
    for (const id of ids) {
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskCompleted'), id).to.have.length(1);
      const leases = ofType(events, 'TaskLeased').map((e) => e.data as { worker: string; term: number });
      expect(new Set(leases.map((l) => l.term)), 'one acquisition').to.deep.equal(new Set([1]));
      expect(ofType(events, 'TaskStarted')).to.have.length(1);
      // Everything the runner wrote was written by the lease holder.
      const holder = leases[0].worker;
      for (const e of events.filter((x) => x.actor.kind === 'agent')) expect(e.actor.id).to.equal(holder);
      byWorker.set(holder, (byWorker.get(holder) ?? 0) + 1);
    }
    for (const id of ids) expect(tools.calls.filter((c) => c.task === id)).to.have.length(3);
    expect(tools.calls).to.have.length(72);
    // Both workers got work (the lease race is won by whoever comes first, not always the same one).
    expect([...byWorker.keys()].sort()).to.deep.equal(['worker-a', 'worker-b']);
  });

  it('takes over a task whose worker died once its lease expires, with the next term; the unknown step is not repeated', async () => {
    let open!: () => void;
    tools.gate = new Promise<void>((r) => (open = r));
    const a = worker('worker-a', { leaseMs: 1_000 });
    await a.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__send', arguments: { n: 1 } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    const b = worker('worker-b', { leaseMs: 1_000 });
    await b.start();
    // While a's lease is live, b only watches.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.activeTasks()).to.deep.equal([]);
    await a.kill();
    tools.gate = undefined;
    open();
    const events = await waitForTask(store, id, ended);
    const leases = ofType(events, 'TaskLeased').map((e) => e.data as { worker: string; term: number });
    expect(leases.at(-1)).to.include({ worker: 'worker-b', term: 2 });
    const failed = ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } };
    expect(failed.error.code).to.equal('STEP_OUTCOME_UNKNOWN');
    expect(tools.calls).to.have.length(1);
    // The operator's log says so, in the worker that took it: a dead worker's tasks leave no other trace there.
    const taken = infos['worker-b'].filter((l) => l.obj.taskId === id && /taken over/.test(l.msg ?? ''));
    expect(taken.map((l) => ({ from: l.obj.from, term: l.obj.term }))).to.deep.equal([{ from: 'worker-a', term: 2 }]);
    expect(infos['worker-a'].filter((l) => /taken over/.test(l.msg ?? ''))).to.deep.equal([]);
  });

  it('hands the lease back on a graceful stop, so another worker resumes at once rather than after expiry', async () => {
    let open!: () => void;
    tools.gate = new Promise<void>((r) => (open = r));
    const a = worker('worker-a', { leaseMs: 60_000 });
    const b = worker('worker-b', { leaseMs: 60_000 });
    await a.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__send', arguments: { n: 1 } }, { tool: 'mail__send', arguments: { n: 2 } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    await b.start();
    await waitForTask(store, id, () => b.heldTasks().includes(id), 5_000);
    const stopped = a.stop(100);
    await stopped;
    tools.gate = undefined;
    open();
    const events = await waitForTask(store, id, ended, 5_000);
    expect(ofType(events, 'TaskLeaseReleased').map((e) => e.data)).to.deep.equal([{ worker: 'worker-a', term: 1 }]);
    expect(ofType(events, 'TaskLeased').at(-1)?.data).to.include({ worker: 'worker-b', term: 2 });
    // Step 0 was in flight when a stopped (outcome unknown, not repeated); b ended the task.
    expect(ofType(events, 'TaskFailed')[0]?.data).to.have.nested.property('error.code', 'STEP_OUTCOME_UNKNOWN');
    expect(tools.calls).to.have.length(1);
  });

  it('lets a stop with a grace period finish the runs in flight', async () => {
    let open!: () => void;
    tools.gate = new Promise<void>((r) => (open = r));
    const a = worker('worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__send', arguments: { n: 1 } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    const stopping = a.stop(5_000);
    setTimeout(open, 100);
    await stopping;
    const events = await store.readStream(`task-${id}`);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(ofType(events, 'TaskLeaseReleased')).to.have.length(0);
  });

  it('keeps its lease through a call longer than the lease (a healthy worker is not taken over mid-call)', async () => {
    let open!: () => void;
    tools.gate = new Promise<void>((r) => (open = r));
    const a = worker('worker-a', { leaseMs: 1_000 });
    const b = worker('worker-b', { leaseMs: 1_000 });
    await a.start();
    await b.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__send', arguments: { n: 1 } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    await new Promise((r) => setTimeout(r, 2_500)); // 2.5 leases
    tools.gate = undefined;
    open();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed')[0]?.data, 'failed').to.equal(undefined);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(new Set(ofType(events, 'TaskLeased').map((e) => (e.data as { worker: string }).worker))).to.deep.equal(new Set(['worker-a']));
    expect(tools.calls).to.have.length(1);
  });

  it('follows the log again after its subscription fails (the store unreachable a moment): tasks submitted later still run', async () => {
    const inner = store.subscribeAll.bind(store);
    let subscriptions = 0;
    // The first subscription fails at once, as a read of the log does when the database drops the connection.
    store.subscribeAll = (o) => {
      if (subscriptions++ > 0) return inner(o);
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('connection lost (test)')) }),
        close: async () => {},
      };
    };
    const a = worker('worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__send', arguments: { n: 1 } }] });
    const events = await waitForTask(store, id, ended, 8_000);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(subscriptions).to.equal(2);
  });
});
