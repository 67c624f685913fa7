import { expect } from 'chai';
import { McpGatewayError, ResultTooDeepError } from '../../src/mcp/errors';
import { MAX_RESULT_DEPTH } from '../../src/core/body-depth';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { payloadDigest } from '../../src/mcp/payload-hash';
import type { EventStore, ReadStreamOptions } from '../../src/eventstore/port';
import { OpenMcpError, UnavailableError } from '../../src/core/errors';
import { taskStream } from '../../src/domain/task/task.decider';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { TokenBudget } from '../../src/agent/llm/token-budget';
import { CacheSpendLedger } from '../../src/agent/policy/spend-ledger';
import { DEFAULT_POLICY, parsePolicy, policyEntryHash, resolvePolicy } from '../../src/agent/policy';
import { hashCanonical } from '../../src/core/hash';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { openRedisCache } from '../../src/cache/redis';
import type { Cache } from '../../src/cache/port';
import { cutProxy } from '../support/cut-proxy';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

/**
 * An in-test ToolCaller (our own port, not a client library): counts calls, can hang, and lists
 * tools with annotations like the gateway's catalog. Tool-call audit events are the gateway's
 * business and are covered in runtime.e2e.test.ts with the real McpGateway.
 */
class CountingTools implements ToolCaller {
  calls: { name: string; ctx: ToolCallContext }[] = [];
  /** listTools calls: how often the runtime looked a tool up in the catalog. */
  listed = 0;
  hang = false;
  /** The next calls fail as the gateway answers while its audit log (the event store) is unreachable: 'forwarded' after the call was made, 'not-forwarded' before. */
  auditDown: ('forwarded' | 'not-forwarded')[] = [];
  tools: ToolInfo[] = [
    { name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } },
    { name: 'mail__send', description: 'send an email message', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false } },
  ];
  async callTool(ctx: ToolCallContext, name: string, args: Record<string, unknown>) {
    this.calls.push({ name, ctx });
    // As the gateway answers a name its catalog does not hold.
    if (!this.tools.some((t) => t.name === name)) throw new McpGatewayError('MCP_TOOL_NOT_FOUND', `no tool named ${name}`);
    if (this.hang) return new Promise<never>(() => {});
    const down = this.auditDown.shift();
    if (down) {
      const cause = new UnavailableError('event store (mysql)', 'append toolcall-x: ECONNREFUSED');
      throw new McpGatewayError('AUDIT_UNAVAILABLE', down === 'forwarded' ? `tool call outcome could not be recorded; result withheld (${cause.message})` : `tool call not forwarded: the audit log could not record it (${cause.message})`, { cause });
    }
    return { content: [{ type: 'text', text: `${name}:${JSON.stringify(args)}` }] };
  }
  async searchTools(_tenant: string, q: string, k: number) {
    return this.tools.filter((t) => q.includes(t.name.split('__')[0])).slice(0, k).map((tool) => ({ tool, score: 1 }));
  }
  listTools() {
    this.listed++;
    return this.tools;
  }
}

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;

describe('task runs: resume rules, limits and policy (in-test ToolCaller, openai-fake)', function () {
  this.timeout(30_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let tools: CountingTools;
  let deps: AgentRuntimeDependencies;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-run-', (s) => ({ store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });
  beforeEach(() => {
    tools = new CountingTools();
    deps = {
      store,
      catalog,
      tools,
      llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
      cache: new MemoryCache(),
      policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*', 'mail__*'], budgets: { kv__get: 2 } } }] }),
      privateKey: KEY,
    };
  });

  async function start(opts: Partial<ConstructorParameters<typeof AgentRuntime>[1]> = {}, d: Partial<AgentRuntimeDependencies> = {}) {
    runtime = new AgentRuntime({ ...deps, ...d }, { model: 'm', stepTimeoutMs: 2_000, ...opts });
    await runtime.start();
    return runtime;
  }

  /** Put a task in the state a crash leaves: started, one step started, no outcome. */
  async function crashedTask(tool: string, idempotent = false): Promise<string> {
    const id = await submitTask(store, 'acme', { steps: [{ tool, arguments: { k: 'a' } }] });
    const base = { stream: taskStream(id), tenant: 'acme', actor: { kind: 'agent' as const, id: 'dead-worker' }, correlationId: id };
    const a = payloadDigest({ k: 'a' });
    await store.append(taskStream(id), [
      createEvent({ ...base, type: 'TaskStarted', data: { worker: 'dead-worker' } }),
      createEvent({ ...base, type: 'TaskStepStarted', data: { stepId: 'step-0', index: 0, tool, argumentsHash: a.hash, argumentsJson: a.json, source: 'steps', idempotent } }),
    ]);
    return id;
  }

  it('a task of many steps leaves no listener per step on its run\'s signal (no "EventTarget memory leak" warning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await start();
      const id = await submitTask(store, 'acme', { steps: Array.from({ length: 15 }, (_, n) => ({ tool: 'mail__send', arguments: { n } })) });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskCompleted')).to.have.length(1);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => /abort listeners/.test(w))).to.deep.equal([]);
  });

  it('does not repeat a non-idempotent call whose outcome is unknown after a crash (STEP_OUTCOME_UNKNOWN)', async () => {
    const id = await crashedTask('mail__send');
    await start();
    const events = await waitForTask(store, id, ended);
    expect(tools.calls).to.have.length(0);
    const failed = ofType(events, 'TaskFailed')[0].data as { error: { code: string } };
    expect(failed.error.code).to.equal('STEP_OUTCOME_UNKNOWN');
  });

  it('re-runs a read-only idempotent call whose outcome is unknown', async () => {
    const id = await crashedTask('kv__get', true);
    await start();
    const events = await waitForTask(store, id, ended);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get']);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(ofType(events, 'TaskStepStarted')).to.have.length(1);
  });

  it('a started idempotent step whose tool is gone since is called again and fails with the gateway\'s MCP_TOOL_NOT_FOUND, not STEP_OUTCOME_UNKNOWN', async () => {
    const id = await crashedTask('gone__lookup', true);
    await start();
    const events = await waitForTask(store, id, ended);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['gone__lookup']);
    const failed = ofType(events, 'TaskFailed')[0].data as { error: { code: string; message: string } };
    expect(failed.error.code).to.equal('MCP_TOOL_NOT_FOUND');
    expect(failed.error.message).to.include('gone__lookup');
  });

  it('a step started as not idempotent is not repeated even if its tool is idempotent now', async () => {
    const id = await crashedTask('kv__get', false);
    await start();
    const events = await waitForTask(store, id, ended);
    expect(tools.calls).to.have.length(0);
    expect((ofType(events, 'TaskFailed')[0].data as { error: { code: string } }).error.code).to.equal('STEP_OUTCOME_UNKNOWN');
  });

  it('passes the task id and correlation to the tool caller', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: {} }] });
    await start();
    await waitForTask(store, id, ended);
    expect(tools.calls[0].ctx).to.deep.include({ tenant: 'acme', taskId: id, correlationId: id });
  });

  it('denies tools outside the allowlist and over their per-task budget, naming the rule', async () => {
    const a = await submitTask(store, 'acme', { steps: [{ tool: 'shell__exec', arguments: {} }] });
    const b = await submitTask(store, 'acme', { steps: [0, 1, 2].map(() => ({ tool: 'kv__get', arguments: {} })) });
    await start();
    const ea = await waitForTask(store, a, ended);
    expect((ofType(ea, 'PolicyEvaluated')[0].data as { rule: string; decision: string })).to.include({ rule: 'tools.allow', decision: 'deny' });
    expect((ofType(ea, 'TaskFailed')[0].data as { error: { code: string } }).error.code).to.equal('POLICY_DENIED');
    const eb = await waitForTask(store, b, ended);
    expect((ofType(eb, 'TaskFailed')[0].data as { error: { message: string } }).error.message).to.contain('tools.budget');
    expect(tools.calls.filter((c) => c.name === 'kv__get')).to.have.length(2);
  });

  it('records which policy decided: PolicyEvaluated v2 names the entry and its content hash (policyHash), which another file changes; the built-in default stays v1', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: {} }] });
    await start();
    const events = await waitForTask(store, id, ended);
    const [p] = ofType(events, 'PolicyEvaluated');
    expect(p.version).to.equal(2);
    const entry = resolvePolicy(deps.policy, 'acme');
    expect(p.data).to.include({ policy: 'acme/*', policyHash: policyEntryHash(entry) });
    // The entry as the file writes it, not as parsed (defaults filled in): what an auditor recomputes from the file.
    expect(policyEntryHash(entry)).to.equal(hashCanonical({ tenant: 'acme', tools: { allow: ['kv__*', 'mail__*'], budgets: { kv__get: 2 } } }));
    const stricter = resolvePolicy(parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*', 'mail__*'], budgets: { kv__get: 1 } } }] }), 'acme');
    expect(policyEntryHash(stricter)).to.not.equal(policyEntryHash(entry));
    // No entry for the tenant: the built-in default decided, which has no versions (v1, as before).
    const other = await submitTask(store, 'other', { steps: [{ tool: 'kv__get', arguments: {} }] });
    const [d] = ofType(await waitForTask(store, other, ended), 'PolicyEvaluated');
    expect(d.version).to.equal(1);
    expect(d.data).to.include({ policy: 'default' }).and.not.have.property('policyHash');
    expect(resolvePolicy(deps.policy, 'other')).to.equal(DEFAULT_POLICY);
  });

  it('records a decision again when a resumed step is decided under another policy than the one recorded (same rule, new policyHash)', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: {} }] });
    const base = { stream: taskStream(id), tenant: 'acme', actor: { kind: 'agent' as const, id: 'dead-worker' }, correlationId: id };
    // As an earlier run (under an earlier file, or an earlier release) left it: decided, not yet started.
    await store.append(taskStream(id), [
      createEvent({ ...base, type: 'TaskStarted', data: { worker: 'dead-worker' } }),
      createEvent({ ...base, type: 'PolicyEvaluated', version: 1, data: { stepId: 'step-0', subject: 'tool', tool: 'kv__get', decision: 'allow', rule: 'tools.allow', reason: 'tool kv__get is allowed', policy: 'acme/*' } }),
    ]);
    await start();
    const events = await waitForTask(store, id, ended);
    const decided = ofType(events, 'PolicyEvaluated');
    expect(decided.map((e) => e.version)).to.deep.equal([1, 2]);
    expect(decided[1].data).to.include({ rule: 'tools.allow', policyHash: policyEntryHash(resolvePolicy(deps.policy, 'acme')) });
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
  });

  it('fails a step that runs past the step timeout, and a model that keeps calling tools at max steps', async () => {
    tools.hang = true;
    const a = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: {} }] });
    await start({ stepTimeoutMs: 300, maxSteps: 3 });
    const ea = await waitForTask(store, a, ended);
    expect((ofType(ea, 'TaskFailed')[0].data as { error: { code: string } }).error.code).to.equal('STEP_TIMEOUT');
    tools.hang = false;
    // The default step timeout from here: 300 ms bounds each model call too, which a loaded
    // machine can take (STEP_TIMEOUT instead of TASK_MAX_STEPS).
    await runtime!.stop();
    await start({ maxSteps: 3 });
    fake.setScript(() => ({ toolCalls: [{ name: 'mail__send', arguments: { to: 'x' } }] }));
    const b = await submitTask(store, 'acme', { instruction: 'use mail to annoy everyone' });
    const eb = await waitForTask(store, b, ended);
    expect((ofType(eb, 'TaskFailed')[0].data as { error: { code: string } }).error.code).to.equal('TASK_MAX_STEPS');
    expect(ofType(eb, 'TaskStepStarted')).to.have.length(3);
  });

  it('looks a tool the model calls up in the catalog once per call', async () => {
    fake.setScript([{ toolCalls: [{ name: 'kv__get', arguments: { k: 'a' } }, { name: 'kv__get', arguments: { k: 'b' } }] }, { content: 'done' }]);
    const id = await submitTask(store, 'acme', { instruction: 'read kv twice' });
    await start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get', 'kv__get']);
    // Once to choose the tools offered (a catalog no larger than toolsPerTask is offered whole), then once per call.
    expect(tools.listed).to.equal(3);
  });

  /**
   * The store, but reads of `stream` fail while `failRead(options)` says so, and appends to it of the
   * types `failAppend` picks, with `error` (default a bare Error, as a driver's lost connection).
   */
  function flakyStore(stream: string, failRead: (o?: ReadStreamOptions) => boolean, failAppend: (type: string) => boolean, error: (what: string) => Error = (what) => new Error(`connection lost ${what}`)): EventStore {
    return new Proxy(store, {
      get(target, key) {
        if (key === 'readStream') {
          return (name: string, o?: ReadStreamOptions) => (name === stream && failRead(o) ? Promise.reject(error('reading')) : target.readStream(name, o));
        }
        if (key === 'append') {
          return (name: string, events: { type: string }[], o?: object) => {
            const t = events[0]?.type;
            if (name === stream && failAppend(t)) return Promise.reject(error(`appending ${t}`));
            return target.append(name, events as never, o);
          };
        }
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  it('a tool call whose result could not be recorded (the store unreachable) is never reported to the model as a failed call', async () => {
    // It was: TaskStepFailed TOOL_FAILED 'connection lost…' told to the model, which sent the mail again.
    fake.setScript((req) => {
      const told = req.messages.filter((m) => m.role === 'tool');
      return told.length === 0 || String(told[told.length - 1].content).startsWith('error') ? { toolCalls: [{ name: 'mail__send', arguments: { to: 'bob' } }] } : { content: 'sent' };
    });
    const id = await submitTask(store, 'acme', { instruction: 'send mail to bob' });
    let appends = 1;
    await start({}, { store: flakyStore(taskStream(id), () => false, (type) => type === 'TaskStepCompleted' && appends-- > 0) });
    const events = await waitForTask(store, id, ended);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['mail__send']);
    // Resumed as after a crash: the call's outcome is unknown to the log, and the tool is not idempotent.
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } } | undefined)?.error.code).to.equal('STEP_OUTCOME_UNKNOWN');
  });

  it('an idempotent tool call whose result could not be recorded is made again on resume, and the task completes', async () => {
    fake.setScript((req) => (req.messages.some((m) => m.role === 'tool') ? { content: 'read' } : { toolCalls: [{ name: 'kv__get', arguments: { k: 'a' } }] }));
    const id = await submitTask(store, 'acme', { instruction: 'read kv a' });
    let appends = 1;
    await start({}, { store: flakyStore(taskStream(id), () => false, (type) => type === 'TaskStepCompleted' && appends-- > 0) });
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(ofType(events, 'TaskStepFailed')).to.have.length(0);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get', 'kv__get']);
  });

  it('a model turn that could not be recorded (the store unreachable) is asked again on resume (from the response cache at temperature 0), and the task completes', async () => {
    // It was: TaskFailed TASK_ERROR 'connection lost appending InferenceCompleted'.
    fake.setScript(() => ({ content: 'hello' }));
    const id = await submitTask(store, 'acme', { instruction: 'say hello' });
    let appends = 1;
    const n = fake.requests.length;
    await start({}, { store: flakyStore(taskStream(id), () => false, (type) => type === 'InferenceCompleted' && appends-- > 0) });
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('hello');
    expect((ofType(events, 'InferenceCompleted')[0].data as { cached: boolean }).cached, 'the paid answer, from the cache').to.equal(true);
    expect(fake.requests.length - n).to.equal(1);
  });

  it('a run cut short by a store error (not a stop) is tried again while the worker runs, and the task ends once', async () => {
    // A lost database connection: the task's stream unreadable once, then neither its TaskCompleted
    // nor its TaskFailed recorded. The run gave up ('interrupted') and the task stayed open until the worker restarted.
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
    const stream = taskStream(id);
    let reads = 1;
    const appends = new Set(['TaskCompleted', 'TaskFailed']);
    const flaky = flakyStore(stream, () => reads-- > 0, (type) => appends.delete(type));
    await start({}, { store: flaky });
    const events = await waitForTask(store, id, ended);
    expect(appends.size, 'both end events failed once').to.equal(0);
    expect(ofType(events, 'TaskFailed')).to.have.length(0);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get']);
  });

  /** What the SQL and KurrentDB adapters throw when the server cannot be reached a moment (a restart, a lost connection, a busy SQLite). */
  const outage = (what: string) => new UnavailableError('event store (mysql)', `${what}: connect ECONNREFUSED 127.0.0.1:3306`);
  /** The task's events as a client reads them, less the lease bookkeeping (a resumed run takes the lease again, with the next term). */
  const story = (events: { type: string }[]) => events.map((e) => e.type).filter((t) => t !== 'TaskLeased' && t !== 'TaskLeaseReleased');

  for (const [where, failAt] of [
    ['taking the lease (TaskLeased)', { append: 'TaskLeased' }],
    ['recording the start (TaskStarted)', { append: 'TaskStarted' }],
    ['reading newer events before the step (sync)', { read: 2 }],
  ] as const) {
    it(`the store unreachable a moment while ${where}: the run stops and is tried again, and the task completes with the events of a normal run`, async () => {
      // It was: TaskFailed DEPENDENCY_UNAVAILABLE (or TASK_ERROR for a bare driver error): a database restart ended the task for good.
      const steps = [{ tool: 'kv__get', arguments: { k: 'a' } }];
      const normal = await submitTask(store, 'acme', { steps });
      await start();
      const reference = story(await waitForTask(store, normal, ended));
      await runtime!.stop();
      tools.calls = [];
      const id = await submitTask(store, 'acme', { steps });
      let reads = 0;
      let appends = 1;
      const failRead = (o?: ReadStreamOptions) => 'read' in failAt && o?.fromRevision !== undefined && ++reads === failAt.read;
      const failAppend = (type: string) => 'append' in failAt && type === failAt.append && appends-- > 0;
      await start({}, { store: flakyStore(taskStream(id), failRead, failAppend, outage) });
      const events = await waitForTask(store, id, ended);
      expect('read' in failAt ? reads : 1 - appends, 'the store failed once').to.be.at.least(1);
      expect(story(events)).to.deep.equal(reference);
      expect(ofType(events, 'TaskCompleted')).to.have.length(1);
      expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get']);
      const terms = ofType(events, 'TaskLeased').map((e) => (e.data as { term: number }).term);
      expect(terms, 'the resumed run holds the next term').to.deep.equal([...terms].sort((a, b) => a - b));
      expect(new Set(terms).size).to.be.at.least(failAt.append === 'TaskLeased' ? 1 : 2);
    });
  }

  it('a step\'s end the store could not take while unreachable (DEPENDENCY_UNAVAILABLE, as KurrentDB reports it) stops the run; on resume the idempotent call is made again and the task completes', async () => {
    // It was: TaskFailed DEPENDENCY_UNAVAILABLE: appendDone took the adapter's outage error for a refusal.
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
    let appends = 1;
    await start({}, { store: flakyStore(taskStream(id), () => false, (type) => type === 'TaskStepCompleted' && appends-- > 0, outage) });
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(ofType(events, 'TaskStepStarted')).to.have.length(1);
    expect(ofType(events, 'TaskStepCompleted')).to.have.length(1);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get', 'kv__get']);
  });

  for (const when of ['forwarded', 'not-forwarded'] as const) {
    it(`the gateway's audit log unreachable a moment (AUDIT_UNAVAILABLE, ${when === 'forwarded' ? 'its result withheld' : 'the call not forwarded'}) stops the run as any store outage; on resume the idempotent call is made again and the task completes`, async () => {
      // It was: TaskStepFailed and TaskFailed AUDIT_UNAVAILABLE: a MariaDB blip during a tool step ended the task for good (found by a failure drill).
      tools.auditDown = [when];
      const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
      await start();
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
      expect(ofType(events, 'TaskStepFailed').map((e) => e.data)).to.deep.equal([]);
      expect(ofType(events, 'TaskCompleted')).to.have.length(1);
      expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get', 'kv__get']);
    });
  }

  it('an AUDIT_UNAVAILABLE that is a refusal (the store refused the event, not unreachable) still fails the step', async () => {
    const refusal = new OpenMcpError('EVENT_TOO_LARGE', 'event over 4 MiB');
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
    const orig = tools.callTool.bind(tools);
    let once = true;
    tools.callTool = async (ctx, name, args) => {
      if (once) {
        once = false;
        throw new McpGatewayError('AUDIT_UNAVAILABLE', 'tool call not forwarded: the audit log could not record it (event over 4 MiB)', { cause: refusal });
      }
      return orig(ctx, name, args);
    };
    await start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(['AUDIT_UNAVAILABLE']);
  });

  it('a result too deep for the audit (ResultTooDeepError, AUDIT_UNAVAILABLE) fails the step, as any result the log cannot hold: not taken for a store outage, not called again', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
    const orig = tools.callTool.bind(tools);
    let once = true;
    tools.callTool = async (ctx, name, args) => {
      if (once) {
        once = false;
        tools.calls.push({ name, ctx });
        throw new ResultTooDeepError('kv', MAX_RESULT_DEPTH);
      }
      return orig(ctx, name, args);
    };
    await start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(['AUDIT_UNAVAILABLE']);
    expect(tools.calls.map((c) => c.name)).to.deep.equal(['kv__get']);
  });

  for (const [what, error, code] of [
    ['a bug (a bare TypeError from a read)', () => new TypeError("Cannot read properties of undefined (reading 'revision')"), 'TASK_ERROR'],
    ['a refusal (an OpenMcpError that is not DEPENDENCY_UNAVAILABLE)', () => new OpenMcpError('KURRENTDB_FAILED', 'kurrentdb: readStream: access denied'), 'KURRENTDB_FAILED'],
  ] as const) {
    it(`${what} outside a step's end still fails the task, once (it is not tried again)`, async () => {
      const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }] });
      let reads = 0;
      await start({}, { store: flakyStore(taskStream(id), (o) => o?.fromRevision !== undefined && ++reads === 2, () => false, error) });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal([code]);
      expect(tools.calls).to.have.length(0);
      expect(ofType(events, 'TaskLeased'), 'one run').to.have.length(1);
    });
  }

  it('stops at the per-task token budget with LLM_BUDGET_EXCEEDED', async () => {
    fake.setScript(() => ({ toolCalls: [{ name: 'kv__get', arguments: { k: String(Math.random()) } }], usage: { prompt_tokens: 60, completion_tokens: 0 } }));
    const budget = new TokenBudget(new CacheSpendLedger(new MemoryCache()), { perTask: 100 });
    const id = await submitTask(store, 'acme', { instruction: 'read kv forever' });
    await start({}, { tokenBudget: budget, policy: parsePolicy({ policies: [{ tenant: 'acme' }] }) });
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskFailed')[0].data as { error: { code: string } }).error.code).to.equal('LLM_BUDGET_EXCEEDED');
    expect(ofType(events, 'InferenceCompleted')).to.have.length(2);
  });

  it('Redis unreachable a moment while reserving the tenant\'s token budget: the run stops and is tried again, and the task completes', async function () {
    // It was: TaskFailed TASK_ERROR "Reached the max retries per request limit": the Redis adapter
    // rejected with ioredis's bare error, which the run took for the task's own failure.
    await requireService(this, 'Redis', redisAvailable);
    const target = new URL(REDIS_TEST_URL);
    const proxy = await cutProxy(target.hostname, Number(target.port || 6379));
    const prefix = redisTestPrefix('omc_run_budget');
    const redis = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix, { onLost: () => {} });
    try {
      // The budget's lock: its first take finds Redis down (refused), then Redis is back.
      const failures: unknown[] = [];
      let cuts = 1;
      const flaky = new Proxy(redis, {
        get(t, key) {
          if (key === 'acquireLock' && cuts > 0) {
            return async (...args: Parameters<Cache['acquireLock']>) => {
              cuts--;
              await proxy.down();
              try {
                return await t.acquireLock(...args);
              } catch (err) {
                failures.push(err);
                throw err;
              } finally {
                await proxy.up();
              }
            };
          }
          const v = Reflect.get(t, key);
          return typeof v === 'function' ? v.bind(t) : v;
        },
      });
      fake.setScript(() => ({ content: 'hello' }));
      const budget = new TokenBudget(new CacheSpendLedger(new MemoryCache()), { perTenantDay: 1_000_000 }, flaky);
      const id = await submitTask(store, 'acme', { instruction: 'say hello' });
      await start({}, { tokenBudget: budget });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
      expect(failures.map((e) => (e as OpenMcpError).code), 'the lock failed once, as an outage').to.deep.equal(['DEPENDENCY_UNAVAILABLE']);
      expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('hello');
      expect(ofType(events, 'InferenceCompleted'), 'the model asked once: the reservation failed before the call').to.have.length(1);
      expect(ofType(events, 'TaskLeased').length, 'a second run').to.be.at.least(2);
    } finally {
      await runtime?.stop();
      runtime = undefined;
      await redis.close();
      await proxy.close();
      await prefix.drop();
    }
  });

  it('records only the prompt hash when redaction is hash-only, and resumes from a checkpoint without rerunning finished tasks', async () => {
    fake.setScript(() => ({ content: 'done' }));
    const checkpoints = new MemoryCheckpointStore();
    const id = await submitTask(store, 'acme', { instruction: 'say done' });
    runtime = new AgentRuntime(deps, { model: 'm', redaction: 'hash-only', checkpointName: 'cp-test' }, checkpoints);
    await runtime.start();
    const events = await waitForTask(store, id, ended);
    const inf = ofType(events, 'InferenceCompleted')[0].data as { messagesJson?: string; redaction: string; promptHash: string };
    expect(inf.messagesJson).to.equal(undefined);
    expect(inf.redaction).to.equal('hash-only');
    await runtime!.stop();
    expect(await checkpoints.load('cp-test')).to.be.at.least(events[events.length - 1].position);
    runtime = new AgentRuntime(deps, { model: 'm', checkpointName: 'cp-test' }, checkpoints);
    await runtime.start();
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.readStream(taskStream(id))).length).to.equal(events.length);
  });
});
