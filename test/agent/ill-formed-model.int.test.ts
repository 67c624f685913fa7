import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { computeEventHash, contentOf, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import { openSqlEventStore } from '../../src/eventstore/sql';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { EventStore } from '../../src/eventstore/port';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { strictJcsHash, untrustedText } from '../support/strict-jcs';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

/** An in-test ToolCaller (our own port): answers with the arguments it was given, as text. */
class EchoTools implements ToolCaller {
  args: Record<string, unknown>[] = [];
  tools: ToolInfo[] = [{ name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  async callTool(_ctx: ToolCallContext, _name: string, args: Record<string, unknown>) {
    this.args.push(args);
    return { content: [{ type: 'text' as const, text: `got ${JSON.stringify(args)}` }] };
  }
  listTools() {
    return this.tools;
  }
}

/** A chat completion as an OpenAI-compatible server writes it: JSON, a lone surrogate as its escape. */
const answer = (message: Record<string, unknown>, finish_reason: string) =>
  JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

/**
 * A model whose answers hold lone UTF-16 surrogates (in its text, in its tool calls' arguments):
 * the task acts on, answers and records them as the same well-formed text (U+FFFD in their place),
 * and every event of the task hashes as an independent, strict RFC 8785 does.
 */
describe('agent runtime: a model whose text is not well-formed Unicode', function () {
  this.timeout(120_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-illformed-', (s) => ({ store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  it('its words, its tool calls\' arguments and its answer are recorded well-formed, the task completes, and every event is reproducible (property)', async () => {
    const tools = new EchoTools();
    runtime = new AgentRuntime(
      {
        store,
        catalog,
        tools,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*'] } }] }),
        privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
      },
      { model: 'm', stepTimeoutMs: 5_000 },
    );
    await runtime.start();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(untrustedText, untrustedText, untrustedText, async (thought, key, final) => {
        tools.args = [];
        fake.setScript([
          { raw: answer({ content: thought, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'kv__get', arguments: JSON.stringify({ k: key }) } }] }, 'tool_calls') },
          { raw: answer({ content: final }, 'stop') },
        ]);
        // A prompt of its own each run: the response cache (temperature 0) would answer a repeat.
        const id = await submitTask(store, 'acme', { instruction: `look it up with kv (run ${++runs})` });
        const events = await waitForTask(store, id, ended);
        expect(ofType(events, 'TaskFailed'), JSON.stringify(ofType(events, 'TaskFailed').map((e) => e.data))).to.deep.equal([]);
        expect(tools.args).to.deep.equal([{ k: key.toWellFormed() }]);
        const done = ofType(events, 'TaskCompleted')[0].data as { output: { answer: string }; outputHash: string };
        expect(done.output.answer).to.equal(final.toWellFormed());
        // The signed output's hash: reproducible too.
        expect(done.outputHash).to.equal(strictJcsHash(done.output));
        for (const e of events as RecordedEvent[]) {
          expect(loneSurrogateIn(e.data), e.type).to.equal(undefined);
          expect(e.hash, e.type).to.equal(strictJcsHash(contentOf(e)));
        }
      }),
      { numRuns: 12 },
    );
  });
});

/** The tools of a resumed task: step `b` hangs the first time it is called (its worker dies during it). */
class ResumedTools implements ToolCaller {
  hung = false;
  tools: ToolInfo[] = [{ name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  async callTool(_ctx: ToolCallContext, _name: string, args: Record<string, unknown>) {
    if (args.k === 'b' && !this.hung) return (this.hung = true), new Promise<never>(() => {});
    return { content: [{ type: 'text' as const, text: `got ${String(args.k)}` }] };
  }
  listTools() {
    return this.tools;
  }
}

/**
 * A store that writes TaskStepCompleted of step-0 as an earlier release could: its resultJson with
 * the escape of a lone surrogate (hashed as JavaScript writes it), as no event of this release is.
 */
function asEarlierRelease(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'append') return Reflect.get(target, prop, receiver);
      return (stream: string, events: PendingEvent[], options?: unknown) =>
        target.append(
          stream,
          events.map((e) => {
            const d = e.data as { stepId?: string; resultJson?: string };
            if (e.type !== 'TaskStepCompleted' || d.stepId !== 'step-0' || !d.resultJson) return e;
            const old = { ...e, data: { ...d, resultJson: d.resultJson.replace('got a', 'got a\\ud800') } };
            return { ...old, hash: computeEventHash(contentOf(old)) };
          }),
          options as never,
        );
    },
  });
}

describe('agent runtime: a task resumed after an upgrade, whose step result was recorded with a lone surrogate', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  const runtimes: AgentRuntime[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-illformed-resume-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.kill()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes, its output holding the recorded text well-formed (the old event itself is left as it is)', async () => {
    const tools = new ResumedTools();
    const worker = (s: EventStore, name: string) => {
      const rt = new AgentRuntime(
        { store: s, catalog, tools, llm: new OpenAiLlmClient({ baseURL: 'http://127.0.0.1:9', model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*'] } }] }), privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' },
        { worker: name, model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000 },
        new MemoryCheckpointStore(),
      );
      runtimes.push(rt);
      return rt;
    };
    const a = worker(asEarlierRelease(store), 'worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'kv__get', arguments: { k: 'a' } }, { tool: 'kv__get', arguments: { k: 'b' } }] });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length === 2);
    await a.kill();
    await worker(store, 'worker-b').start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => e.data), 'failed').to.deep.equal([]);
    const old = ofType(events, 'TaskStepCompleted')[0].data as { resultJson: string };
    expect(old.resultJson).to.include('got a\\ud800');
    const done = ofType(events, 'TaskCompleted')[0].data as { output: { steps: { text: string }[] } };
    expect(done.output.steps.map((s) => s.text)).to.deep.equal(['got a\ufffd', 'got b']);
  });
});
