import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import { startOpenAiFake, type ChatRequest, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { until } from '../mcp/support/until';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, waitForTask } from './support/agent-fixture';

/** One upstream behind both workers: counts calls; a call with `hang: true` never answers (its worker dies during it). */
class SharedTools implements ToolCaller {
  calls: Record<string, unknown>[] = [];
  tools: ToolInfo[] = [{ name: 'mail__send', description: 'send an email', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false } }];
  async callTool(_ctx: ToolCallContext, _name: string, args: Record<string, unknown>) {
    this.calls.push(args);
    if (args.hang) return new Promise<never>(() => {});
    return { content: [{ type: 'text', text: `sent ${String(args.to)}` }] };
  }
  async searchTools() {
    return this.tools.map((tool) => ({ tool, score: 1 }));
  }
  listTools() {
    return this.tools;
  }
}

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const told = (req: ChatRequest) => req.messages.filter((m) => m.role === 'tool').length;

describe('a worker dies during a model turn or a tool call the model asked for; another worker resumes the task', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let tools: SharedTools;
  let runtimes: AgentRuntime[] = [];

  function worker(name: string, maxSteps = 20): AgentRuntime {
    const rt = new AgentRuntime(
      { store, catalog, tools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['mail__*'] } }] }), privateKey: KEY },
      { worker: name, model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000, maxSteps },
      new MemoryCheckpointStore(),
    );
    runtimes.push(rt);
    return rt;
  }

  before(async () => {
    fake = await startOpenAiFake();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-crashllm-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
    tools = new SharedTools();
    runtimes = [];
  });
  afterEach(async () => {
    await Promise.all(runtimes.map((r) => r.kill()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => fake?.close());

  it('mid model call: the turn is asked again on the other worker, and the task completes with each tool call made once', async () => {
    let first = true;
    fake.setScript((req) => {
      if (told(req) === 0) return { toolCalls: [{ id: 'c1', name: 'mail__send', arguments: { to: 'bob' } }] };
      if (first) return (first = false), { hang: true };
      return { content: 'mailed bob' };
    });
    const a = worker('worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { instruction: 'mail bob' });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepCompleted').length > 0);
    // The second model call is in flight (the fake holds it): not a fixed pause, which a loaded
    // machine can outlast before worker A asks, leaving the hang to worker B.
    await until('the second model call hangs', () => !first);
    await a.kill();
    await worker('worker-b').start();
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskCompleted')[0]?.data as { output: { answer: string } }).output.answer).to.equal('mailed bob');
    expect(tools.calls).to.deep.equal([{ to: 'bob' }]);
    expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { turn: number }).turn)).to.deep.equal([0, 1]);
  });

  it('mid tool call (two calls of one turn with the same empty id): the finished one is kept, the unfinished one is not repeated (STEP_OUTCOME_UNKNOWN)', async () => {
    fake.setScript((req) =>
      told(req) === 0
        ? { toolCalls: [{ id: '', name: 'mail__send', arguments: { to: 'bob' } }, { id: '', name: 'mail__send', arguments: { to: 'eve', hang: true } }] }
        : { content: 'should not get here' },
    );
    const a = worker('worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { instruction: 'mail bob and eve' });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length === 2);
    await a.kill();
    await worker('worker-b').start();
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('STEP_OUTCOME_UNKNOWN');
    expect(tools.calls).to.deep.equal([{ to: 'bob' }, { to: 'eve', hang: true }]);
    expect(ofType(events, 'TaskStepStarted').map((e) => (e.data as { stepId: string }).stepId)).to.deep.equal(['turn-0-', 'turn-0-1-']);
    expect(ofType(events, 'InferenceCompleted')).to.have.length(1);
  });

  it('a resumed run counts the steps already made once against AGENT_MAX_STEPS (replayed turns are not counted again)', async () => {
    let hung = false;
    fake.setScript((req) => {
      const n = told(req);
      if (n < 2) return { toolCalls: [{ id: `c${n}`, name: 'mail__send', arguments: { to: `user${n}` } }] };
      if (!hung) return (hung = true), { hang: true };
      return { content: 'sent two' };
    });
    const a = worker('worker-a', 3);
    await a.start();
    const id = await submitTask(store, 'acme', { instruction: 'mail two users' });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepCompleted').length === 2);
    await until('the third model call hangs', () => hung); // in flight, held by the fake
    await a.kill();
    await worker('worker-b', 3).start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed')[0]?.data, 'failed').to.equal(undefined);
    expect((ofType(events, 'TaskCompleted')[0]?.data as { output: { answer: string } }).output.answer).to.equal('sent two');
    expect(tools.calls).to.have.length(2);
  });
});
