import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { catalog, defineEvent, EventCatalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { AgentRuntimeDependencies, AgentRuntimeOptions } from '../../src/agent/runtime/runtime-deps';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, waitForTask } from './support/agent-fixture';

class Tools implements ToolCaller {
  calls: { task?: string; worker: string }[] = [];
  gate?: Promise<void>;
  // Read-only and idempotent: a step whose run stopped mid-call is repeated by the next worker rather than failed.
  tools: ToolInfo[] = [{ name: 'mail__lookup', description: 'look up', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  async callTool(ctx: ToolCallContext) {
    this.calls.push({ task: ctx.taskId, worker: ctx.actor.id });
    if (this.gate) await this.gate;
    return { content: [{ type: 'text', text: 'ok' }] };
  }
  listTools() {
    return this.tools;
  }
}

/** The catalog of a later release: it knows InferenceCompleted and ApprovalGiven v99 (what this one does not). */
function upgradedCatalog(): EventCatalog {
  return new EventCatalog()
    .register(...catalog.definitions())
    .register(defineEvent('InferenceCompleted', 99, z.looseObject({}), 'a later release'), defineEvent('ApprovalGiven', 99, z.looseObject({}), 'a later release'));
}

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
/** A turn as v6 records it, and what v99 adds: read as v6, it looks like a turn to replay. */
const TURN_V99 = {
  turn: 0, provider: 'openai', model: 'm', promptHash: `0x${'1'.repeat(64)}`, redaction: 'store', responseJson: '{"content":"hi","role":"assistant"}',
  finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 1, cached: false, knowledgeChunks: [], tools: [],
  usageUnbooked: true, usageBookedIn: 'ledger-2',
};
const newWorker = { kind: 'agent' as const, id: 'agent-new-release' };

describe('agent runtime: a task stream holding an event of a newer release is not acted on', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let tools: Tools;
  let runtimes: AgentRuntime[] = [];
  let logged: { level: string; obj: Record<string, unknown>; msg?: string }[];

  function worker(name: string, c: EventCatalog, opts: Partial<AgentRuntimeOptions> = {}): AgentRuntime {
    const logger = {
      info: () => {},
      warn: (obj: unknown, msg?: string) => logged.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: unknown, msg?: string) => logged.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    };
    const deps: AgentRuntimeDependencies = { store, catalog: c, tools, cache: new MemoryCache(), logger, policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['mail__*'] } }] }), privateKey: KEY };
    const rt = new AgentRuntime(deps, { worker: name, stepTimeoutMs: 10_000, ...opts }, new MemoryCheckpointStore());
    runtimes.push(rt);
    return rt;
  }

  /** Append what a process of a later release would: a well-formed event (its hash valid) at a version this release does not know. */
  async function appendNewer(taskId: string, type: string, data: Record<string, unknown>) {
    const stream = `task-${taskId}`;
    const at = (await store.readStream(stream)).at(-1)!.revision;
    const e = createEvent({ type, version: 99, stream, tenant: 'acme', actor: newWorker, correlationId: taskId, data });
    return (await store.append(stream, [e], { expectedRevision: at })).events[0];
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-newer-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
    tools = new Tools();
    runtimes = [];
    logged = [];
  });
  afterEach(async () => {
    await Promise.all(runtimes.map((r) => r.kill()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('InferenceCompleted v99 on the stream: no lease, no step, the task not failed, logged once; a worker of the newer release runs it', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__lookup', arguments: { n: 1 } }] });
    const newer = await appendNewer(id, 'InferenceCompleted', TURN_V99);
    const old = worker('agent-old', catalog, { leaseMs: 300 });
    await old.start();
    // It looks at the task, stands back, and looks again later (leaseMs): still nothing written.
    await waitForTask(store, id, () => old.heldTasks().includes(id), 5_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const events = await store.readStream(`task-${id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['TaskSubmitted', 'InferenceCompleted']);
    expect(tools.calls).to.deep.equal([]);
    expect(old.heldTasks(), 'still watched: it stays open here').to.include(id);
    const loud = logged.filter((l) => l.level === 'error' && l.obj.taskId === id);
    expect(loud, 'logged once per task').to.have.length(1);
    expect(loud[0].obj).to.include({ eventId: newer.id, type: 'InferenceCompleted', version: 99, code: 'EVENT_FROM_NEWER_RELEASE' });
    expect(loud[0].msg).to.match(/newer release/);

    // At the default lease: a 300 ms one could lapse during its run on a loaded machine (the step then taken for unknown).
    const upgraded = worker('agent-new', upgradedCatalog());
    await upgraded.start();
    const done = await waitForTask(store, id, ended);
    expect(ofType(done, 'TaskCompleted')).to.have.length(1);
    expect(new Set(done.filter((e) => e.actor.kind === 'agent' && e.actor.id !== newWorker.id).map((e) => e.actor.id))).to.deep.equal(new Set(['agent-new']));
    expect(tools.calls.map((c) => c.worker)).to.deep.equal(['agent-new']);
    await waitForTask(store, id, () => !old.heldTasks().includes(id), 5_000);
  });

  it('an event of a newer release arriving during a run stops it: nothing more written, the lease not renewed, then taken over', async () => {
    let open!: () => void;
    tools.gate = new Promise<void>((r) => (open = r));
    const old = worker('agent-old', catalog, { leaseMs: 1_000 });
    await old.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'mail__lookup', arguments: { n: 1 } }, { tool: 'mail__lookup', arguments: { n: 2 } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    // An API process of the newer release records an approval of a shape this release does not know.
    const newer = await appendNewer(id, 'ApprovalGiven', { proposalHash: `0x${'a'.repeat(64)}`, approver: { kind: 'user', id: 'bob' } });
    tools.gate = undefined;
    open();
    await old.settled(id);
    await new Promise((r) => setTimeout(r, 1_500)); // past the lease: a renewal would have shown by now
    const after = (await store.readStream(`task-${id}`)).filter((e) => e.revision > newer.revision);
    expect(after.map((e) => `${e.type} ${e.actor.id}`), 'nothing written after the newer event').to.deep.equal([]);
    expect(logged.filter((l) => l.level === 'error' && l.obj.taskId === id)).to.have.length(1);

    const upgraded = worker('agent-new', upgradedCatalog(), { leaseMs: 1_000 });
    await upgraded.start();
    const done = await waitForTask(store, id, ended);
    expect(ofType(done, 'TaskFailed')[0]?.data, 'not failed').to.equal(undefined);
    expect(ofType(done, 'TaskCompleted')).to.have.length(1);
    expect(ofType(done, 'TaskLeased').at(-1)?.data).to.include({ worker: 'agent-new', term: 2 });
  });
});
