import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import type { Cache } from '../../src/cache/port';
import { createEvent, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import * as secp from '@noble/secp256k1';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { toHex } from '../../src/core/hex';
import { openSealedAnswer, type SealedAnswer } from '../../src/core/sealed-answer';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { taskStream } from '../../src/domain/task/task.decider';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { responseCacheKey, saltedPromptCacheKey } from '../../src/agent/llm/infer';
import { useRedisTestCache } from '../support/redis-test-cache';
import { parsePolicy } from '../../src/agent/policy';
import type { AgentRuntimeOptions } from '../../src/agent/runtime/runtime-deps';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import { startOpenAiFake, type OpenAiFake, toolMessages } from '../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, user, waitForTask } from './support/agent-fixture';
import type { PayloadPolicy } from '../../src/mcp/audit';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { subjectOf } from '../../src/erasure/subject';

/** An in-test ToolCaller (our own port): counts calls, and a call hangs while `hang` is set (its worker dies during it). */
class Tools implements ToolCaller {
  /** The gateway's MCP_PAYLOAD_POLICY as the runtime reads it (this ToolCaller seals nothing itself). */
  payloadPolicy?: PayloadPolicy;
  calls: { name: string; args: Record<string, unknown> }[] = [];
  hang = false;
  tools: ToolInfo[] = [
    { name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } },
    { name: 'mail__send', description: 'send an email message', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false } },
  ];
  async callTool(_ctx: ToolCallContext, name: string, args: Record<string, unknown>) {
    this.calls.push({ name, args });
    if (this.hang) return new Promise<never>(() => {});
    // Not an echo of the arguments: a tool's result is the tool's (MCP_PAYLOAD_POLICY), not the model's words.
    return { content: [{ type: 'text', text: 'a value' }] };
  }
  async searchTools() {
    return this.tools.map((tool) => ({ tool, score: 1 }));
  }
  listTools() {
    return this.tools;
  }
}

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const SECRETS = /sierra-secret|tango-secret|uniform-secret/;

describe('LLM_REDACTION=hash-only: a task resumes after a restart from a log that holds no answer (openai-fake)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let tools: Tools;
  let runtimes: AgentRuntime[] = [];

  let subjectKeys: MemorySubjectKeyStore | undefined;

  function worker(name: string, o: { cache?: Cache; store?: EventStore; opts?: Partial<AgentRuntimeOptions> } = {}): AgentRuntime {
    const rt = new AgentRuntime(
      {
        store: o.store ?? store,
        catalog,
        tools,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: o.cache ?? new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*', 'mail__*'] } }] }),
        privateKey: KEY,
        subjectKeys,
      },
      { worker: name, model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000, redaction: 'hash-only', ...o.opts },
      new MemoryCheckpointStore(),
    );
    runtimes.push(rt);
    return rt;
  }

  /**
   * The store, but appends to `stream` of the types `failAppend` picks fail (a lost connection);
   * given a promise instead, the append fails once it settles (the worker is cut off mid-append).
   */
  function flakyStore(stream: string, failAppend: (type: string) => boolean | Promise<void>): EventStore {
    return new Proxy(store, {
      get(target, key) {
        if (key === 'append') {
          return (name: string, events: { type: string }[], o?: object) => {
            const t = events[0]?.type;
            const fails = name === stream ? failAppend(t) : false;
            if (fails) return Promise.resolve(fails).then(() => Promise.reject(new Error(`connection lost appending ${t}`)));
            return target.append(name, events as never, o);
          };
        }
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  const logText = async () => JSON.stringify((await store.readAll()).filter((e) => e.type !== 'TaskSubmitted'));
  const outputOf = (events: RecordedEvent[]) => (ofType(events, 'TaskCompleted')[0]?.data as { output: Record<string, unknown> } | undefined)?.output;
  const failuresOf = (events: RecordedEvent[]) => ofType(events, 'TaskStepFailed').map((e) => e.data as { stepId: string; error: { code: string; message: string } });

  before(async () => {
    fake = await startOpenAiFake();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-redaction-resume-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
    tools = new Tools();
    subjectKeys = undefined;
    fake.setScript((req) =>
      toolMessages(req).length === 0
        ? { content: 'looking up tango-secret', toolCalls: [{ id: 'k1', name: 'kv__get', arguments: { k: 'sierra-secret' } }] }
        : { content: 'done: uniform-secret' },
    );
  });
  afterEach(async () => {
    await Promise.all(runtimes.map((r) => r.kill()));
    runtimes = [];
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => fake?.close());

  /** worker-a dies during the turn-0 call (read-only and idempotent); worker-b, with `cache`, resumes the task. Both with `opts`. */
  async function dieDuringCall(cacheOfB: Cache, cacheOfA: Cache = new MemoryCache(), opts: Partial<AgentRuntimeOptions> = {}): Promise<{ events: RecordedEvent[]; asked: number }> {
    tools.hang = true;
    const a = worker('worker-a', { cache: cacheOfA, opts });
    await a.start();
    const id = await submitTask(store, 'acme', { instruction: 'read kv sierra' });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    await a.kill();
    tools.hang = false;
    const asked = fake.requests.length;
    await worker('worker-b', { cache: cacheOfB, opts }).start();
    return { events: await waitForTask(store, id, ended), asked };
  }

  it('without a copy of the turn (by default the response cache is off under hash-only, even one the workers share): its call is not made again (its arguments are not in the log), the model is told so and asked on, and the task completes', async () => {
    const shared = new MemoryCache();
    const { events, asked } = await dieDuringCall(shared, shared);
    expect(outputOf(events), events.map((e) => e.type).join()).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(tools.calls, 'the call worker-a made, and no other').to.have.length(1);
    expect(failuresOf(events).map((f) => [f.stepId, f.error.code])).to.deep.equal([['turn-0-k1', 'STEP_ARGUMENTS_NOT_KEPT']]);
    expect(failuresOf(events)[0].error.message).to.match(/started before a restart .* read-only and idempotent, but its arguments are not kept in the task's log \(LLM_REDACTION=hash-only\)/);
    // worker-b asked the model once, with turn 0 as the log has it: the call's id and name, a note for its words, and the failure.
    expect(fake.requests.length - asked).to.equal(1);
    const resumed = fake.requests.at(-1)!;
    const assistant = resumed.messages.find((m) => m.role === 'assistant')!;
    expect(assistant.content).to.contain('LLM_REDACTION=hash-only').and.contain(payloadDigest('looking up tango-secret').hash);
    expect(assistant.tool_calls).to.deep.equal([{ id: 'k1', type: 'function', function: { name: 'kv__get', arguments: '{}' } }]);
    expect(toolMessages(resumed)).to.have.length(1);
    expect(toolMessages(resumed)[0]).to.match(/^error STEP_ARGUMENTS_NOT_KEPT: /);
    expect(JSON.stringify(resumed.messages)).to.not.match(SECRETS);
    expect(await logText()).to.not.match(SECRETS);
    for (const e of ofType(events, 'InferenceCompleted')) expect(await shared.get(responseCacheKey('acme', 'm', (e.data as { promptHash: string }).promptHash))).to.equal(undefined);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, without a copy of the turn: the note in its place names the text by its salted contentHash (v8 contentHashScheme), and the log holds no plain SHA-256 of that text", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    const { events } = await dieDuringCall(new MemoryCache());
    const [turn] = ofType(events, 'InferenceCompleted');
    const r = (turn.data as { responseRedacted: { contentHash: string; contentHashScheme?: string } }).responseRedacted;
    expect(r.contentHashScheme).to.equal('hmac-sha256-salted-v1');
    const assistant = fake.requests.at(-1)!.messages.find((m) => m.role === 'assistant')!;
    expect(assistant.content).to.contain(`hmac-sha256-salted-v1 ${r.contentHash}`).and.not.contain(payloadDigest('looking up tango-secret').hash);
    expect(await logText()).to.not.contain(payloadDigest('looking up tango-secret').hash.slice(2));
    expect(outputOf(events)).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
  });

  it("with LLM_CACHE_TTL_MS set (the operator's choice) and the turn still in the LLM response cache (Redis, shared by the workers), it is replayed whole: verified by its hash, the idempotent call is made again", async () => {
    const shared = new MemoryCache();
    const { events, asked } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(outputOf(events)).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(failuresOf(events)).to.deep.equal([]);
    expect(tools.calls.map((c) => c.args)).to.deep.equal([{ k: 'sierra-secret' }, { k: 'sierra-secret' }]);
    expect(fake.requests.length - asked).to.equal(1);
    expect(JSON.stringify(fake.requests.at(-1)!.messages)).to.contain('sierra-secret').and.contain('looking up tango-secret');
    expect(await logText()).to.not.match(SECRETS);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted (the turn's hashes salted, its promptHash too: InferenceCompleted v8), the cached turn is found and replayed whole, checked with its salt opened under the submitter's key; the cache's plain prompt hashes are not in the log", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    const shared = new MemoryCache();
    const keys: string[] = [];
    const set = shared.set.bind(shared);
    shared.set = (key: string, value: string, ttl?: number) => (keys.push(key), set(key, value, ttl));
    const { events, asked } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(ofType(events, 'InferenceCompleted').map((e) => e.version)).to.deep.equal([8, 8]);
    const plain = keys.filter((k) => k.startsWith('llm:response:')).map((k) => k.split(':').at(-1)!);
    expect(plain, 'one answer cached a turn').to.have.length(2);
    for (const h of plain) expect(await logText()).to.not.contain(h.slice(2));
    expect(failuresOf(events)).to.deep.equal([]);
    expect(tools.calls.map((c) => c.args)).to.deep.equal([{ k: 'sierra-secret' }, { k: 'sierra-secret' }]);
    expect(fake.requests.length - asked).to.equal(1);
    expect(await logText()).to.not.match(SECRETS);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted with LLM_CACHE_TTL_MS set, the same prompt in another task is still answered from the cache, though the two turns' salted promptHashes differ", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    fake.setScript(() => ({ content: 'done: uniform-secret' }));
    await worker('worker-c', { opts: { llmCacheTtlMs: 600_000 } }).start();
    const asked = fake.requests.length;
    const a = await waitForTask(store, await submitTask(store, 'acme', { instruction: 'read kv sierra' }), ended);
    const b = await waitForTask(store, await submitTask(store, 'acme', { instruction: 'read kv sierra' }), ended);
    const [ta, tb] = [a, b].map((es) => ofType(es, 'InferenceCompleted')[0]);
    expect([ta.version, tb.version]).to.deep.equal([8, 8]);
    expect([(ta.data as { cached: boolean }).cached, (tb.data as { cached: boolean }).cached]).to.deep.equal([false, true]);
    expect(fake.requests.length - asked, 'the model asked once').to.equal(1);
    expect((ta.data as { promptHash: string }).promptHash).to.not.equal((tb.data as { promptHash: string }).promptHash);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, the cache's llm:prompt: entry gone (expired before the answer's, or evicted) while the answer is still cached: the turn is rebuilt from its event, its call not made again, and the task completes", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    const shared = new MemoryCache();
    const get = shared.get.bind(shared);
    shared.get = async (key: string) => (key.startsWith('llm:prompt:') ? undefined : get(key));
    const { events } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(outputOf(events)).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(failuresOf(events).map((f) => f.error.code)).to.deep.equal(['STEP_ARGUMENTS_NOT_KEPT']);
    expect(tools.calls).to.have.length(1);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, an llm:prompt: entry that names another cached answer of the tenant is not taken for the turn: checked against the salted hash, the turn is rebuilt, nothing called with the other answer's arguments", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    const shared = new MemoryCache();
    const other = `0x${'ab'.repeat(32)}`;
    const message = { role: 'assistant', content: null, tool_calls: [{ id: 'k1', type: 'function', function: { name: 'kv__get', arguments: '{"k":"other-tenant-data"}' } }] };
    await shared.set(responseCacheKey('acme', 'm', other), JSON.stringify({ message, finishReason: 'tool_calls', model: 'm', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }));
    const get = shared.get.bind(shared);
    const asked: string[] = [];
    shared.get = async (key: string) => (asked.push(key), key.startsWith('llm:prompt:') ? JSON.stringify({ model: 'm', promptHash: other }) : get(key));
    const { events } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(failuresOf(events).map((f) => f.error.code)).to.deep.equal(['STEP_ARGUMENTS_NOT_KEPT']);
    expect(tools.calls.map((c) => c.args)).to.deep.equal([{ k: 'sierra-secret' }]);
    expect(outputOf(events)).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(asked, 'the other answer was read, and refused').to.include(responseCacheKey('acme', 'm', other));
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, once the submitter's key is erased the cached turn is not taken for the recorded one (its salt is gone): its call is not made again", async () => {
    tools.payloadPolicy = 'encrypted';
    subjectKeys = new MemorySubjectKeyStore();
    const keys = subjectKeys;
    const shared = new MemoryCache();
    const erase = shared.get.bind(shared);
    // The key is erased as worker-b reads the cache to replay the turn.
    shared.get = async (key: string) => {
      if (key.startsWith('llm:response:')) await keys.erase(subjectOf('acme', user));
      return erase(key);
    };
    const { events } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(failuresOf(events).map((f) => f.error.code)).to.deep.equal(['STEP_ARGUMENTS_NOT_KEPT']);
    expect(tools.calls).to.have.length(1);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, the key store failing as a resumed run opens the cached turn's salt stops the run, to be tried again: the turn is replayed whole then, not taken for one without a copy", async () => {
    tools.payloadPolicy = 'encrypted';
    const keys = new MemorySubjectKeyStore();
    let cut = false;
    subjectKeys = Object.assign(Object.create(keys) as MemorySubjectKeyStore, {
      keyFor: (s: string) => keys.keyFor(s),
      keyById: async (kid: string) => {
        if (cut) {
          cut = false;
          throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        }
        return keys.keyById(kid);
      },
    });
    const shared = new MemoryCache();
    const get = shared.get.bind(shared);
    // The key store is cut once as worker-b reads the cache to replay the turn.
    let first = true;
    shared.get = async (key: string) => {
      const hit = await get(key);
      if (key.startsWith('llm:response:') && hit !== undefined && first) [first, cut] = [false, true];
      return hit;
    };
    const { events, asked } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(failuresOf(events)).to.deep.equal([]);
    expect(tools.calls.map((c) => c.args)).to.deep.equal([{ k: 'sierra-secret' }, { k: 'sierra-secret' }]);
    expect(fake.requests.length - asked).to.equal(1);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, the submitter's key store failing before a turn stops the run before the model is asked (nothing paid, no plain SHA-256 recorded); the next run completes the task", async () => {
    tools.payloadPolicy = 'encrypted';
    const keys = new MemorySubjectKeyStore();
    let reads = 0;
    subjectKeys = Object.assign(Object.create(keys) as MemorySubjectKeyStore, {
      keyFor: async (s: string) => {
        if (++reads === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        return keys.keyFor(s);
      },
    });
    const asked = fake.requests.length;
    await worker('worker-k').start();
    const id = await submitTask(store, 'acme', { instruction: 'read kv sierra' });
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(reads).to.be.above(1);
    expect(fake.requests.length - asked, 'the model asked once a turn').to.equal(2);
    expect(ofType(events, 'InferenceCompleted').map((e) => e.version)).to.deep.equal([8, 8]);
  });

  it("under MCP_PAYLOAD_POLICY=encrypted, with the submitter's key unreadable as the task fails, TaskFailed (v1) names the LLM server's withheld words by no digest, neither plain nor salted", async () => {
    tools.payloadPolicy = 'encrypted';
    const keys = new MemorySubjectKeyStore();
    let reads = 0;
    subjectKeys = Object.assign(Object.create(keys) as MemorySubjectKeyStore, {
      // The turn's key is read before the model is asked; the store is gone when the task fails.
      keyFor: async (s: string) => {
        if (++reads > 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        return keys.keyFor(s);
      },
    });
    const said = 'Bad request: unknown customer sierra-secret';
    fake.setScript(() => ({ status: 400, errorMessage: said }));
    await worker('worker-f').start();
    const events = await waitForTask(store, await submitTask(store, 'acme', { instruction: 'read kv sierra' }), ended);
    const [failed] = ofType(events, 'TaskFailed');
    expect(failed.version).to.equal(1);
    const message = (failed.data as { error: { message: string } }).error.message;
    expect(message).to.contain('withheld (LLM_REDACTION=hash-only)').and.not.match(/sha256|hmac-sha256-salted-v1|0x[0-9a-f]{64}/);
    expect(reads).to.equal(2);
    expect(await logText()).to.not.match(SECRETS).and.not.contain(payloadDigest(said).hash.slice(2));
  });

  for (const policy of ['store', 'hash-only'] as const) {
    it(`under MCP_PAYLOAD_POLICY=${policy}, with the subject key store wired as the composition root always wires it, a hash-only task writes exactly the earlier versions (InferenceCompleted v4, TaskStepFailed v1, TaskFailed v1) and never reads a key`, async () => {
      tools.payloadPolicy = policy;
      const keys = new MemorySubjectKeyStore();
      let reads = 0;
      subjectKeys = Object.assign(Object.create(keys) as MemorySubjectKeyStore, {
        keyFor: async (s: string) => {
          reads++;
          return keys.keyFor(s);
        },
      });
      fake.setScript((req) => {
        if (JSON.stringify(req.messages).includes('fail')) return { status: 400, errorMessage: 'Bad request: unknown customer sierra-secret' };
        return toolMessages(req).length === 0
          ? { toolCalls: [{ id: 'k1', name: 'kv__get', arguments: '{"k": sierra-secret' }, { id: 'k2', name: 'lookup_sierra-secret', arguments: {} }] }
          : { content: 'done' };
      });
      await worker('worker-p').start();
      const slips = await waitForTask(store, await submitTask(store, 'acme', { instruction: 'read kv sierra' }), ended);
      const failed = await waitForTask(store, await submitTask(store, 'acme', { instruction: 'fail' }), ended);
      expect(ofType(slips, 'TaskCompleted'), slips.map((e) => e.type).join()).to.have.length(1);
      expect(ofType(slips, 'InferenceCompleted').map((e) => e.version)).to.deep.equal([4, 4]);
      expect(ofType(slips, 'TaskStepFailed').map((e) => [(e.data as { error: { code: string } }).error.code, e.version])).to.deep.equal([['TOOL_ARGUMENTS_INVALID', 1], ['MCP_TOOL_NOT_FOUND', 1]]);
      expect(failuresOf(slips).map((f) => f.error.message).join()).to.contain('withheld (LLM_REDACTION=hash-only), sha256 0x');
      expect(ofType(failed, 'TaskFailed').map((e) => e.version)).to.deep.equal([1]);
      expect((ofType(failed, 'TaskFailed')[0].data as { error: { message: string } }).error.message).to.contain('withheld (LLM_REDACTION=hash-only), sha256 0x');
      expect(reads, 'no key-store round trip').to.equal(0);
    });
  }

  it('a cached answer that is not the recorded one (another hash) is not used', async () => {
    const shared = new MemoryCache();
    const realSet = shared.set.bind(shared);
    // What the cache holds for that prompt is another answer (e.g. written by a worker of another model version).
    shared.set = (key: string, value: string, ttl?: number) => {
      const c = JSON.parse(value) as { message: { content: string | null } };
      if (key.startsWith('llm:response:')) c.message.content = 'something else';
      return realSet(key, JSON.stringify(c), ttl);
    };
    const { events } = await dieDuringCall(shared, shared, { llmCacheTtlMs: 600_000 });
    expect(failuresOf(events).map((f) => f.error.code)).to.deep.equal(['STEP_ARGUMENTS_NOT_KEPT']);
    expect(tools.calls).to.have.length(1);
  });

  it('a call of the turn that was never started is reported not made (even a non-idempotent one), and the task completes', async () => {
    fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'm1', name: 'mail__send', arguments: { to: 'sierra-secret' } }] } : { content: 'done: uniform-secret' }));
    const id = await submitTask(store, 'acme', { instruction: 'mail sierra' });
    // The store is lost right after the turn is recorded: neither the step's start nor the task's failure is recorded; the run is tried again.
    const failing = new Set(['TaskStepStarted', 'TaskFailed']);
    await worker('worker-a', { store: flakyStore(taskStream(id), (t) => failing.delete(t)), opts: { llmCacheTtlMs: 0 } }).start();
    const events = await waitForTask(store, id, ended);
    expect(failing.size, 'both appends failed once').to.equal(0);
    expect(outputOf(events), events.map((e) => e.type).join()).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(tools.calls).to.deep.equal([]);
    expect(failuresOf(events).map((f) => [f.stepId, f.error.code])).to.deep.equal([['turn-0-m1', 'STEP_ARGUMENTS_NOT_KEPT']]);
    expect(failuresOf(events)[0].error.message).to.match(/^step turn-0-m1 was not made: its arguments are not kept/);
    expect(await logText()).to.not.match(SECRETS);
  });

  it('a final answer recorded before a restart completes the task with its hash, without asking the model again', async () => {
    fake.setScript(() => ({ content: 'done: uniform-secret' }));
    const asked = fake.requests.length;
    const id = await submitTask(store, 'acme', { instruction: 'say it' });
    const failing = new Set(['TaskCompleted', 'TaskFailed']);
    await worker('worker-a', { store: flakyStore(taskStream(id), (t) => failing.delete(t)), opts: { llmCacheTtlMs: 0 } }).start();
    const events = await waitForTask(store, id, ended);
    expect(failing.size, 'both appends failed once').to.equal(0);
    const turns = ofType(events, 'InferenceCompleted');
    expect(turns).to.have.length(1);
    expect(outputOf(events)).to.deep.equal({ answerHash: (turns[0].data as { responseRedacted: { contentHash: string } }).responseRedacted.contentHash });
    expect(outputOf(events)!.answerHash).to.equal(payloadDigest('done: uniform-secret').hash);
    expect(fake.requests.length - asked).to.equal(1);
    expect(await logText()).to.not.match(SECRETS);
  });

  /** A client's key pair: the answer is sealed to `recipient`; only `secret` opens it. */
  function recipientKeys(): { secret: Uint8Array; recipient: string } {
    const secret = secp.utils.randomSecretKey();
    return { secret, recipient: toHex(secp.getPublicKey(secret, true)) };
  }

  /** The final turn (InferenceCompleted) and TaskCompleted of a task with an answerRecipient: the answer in both only sealed, the same copy, opening to `answer`. */
  function expectSealedOnce(events: RecordedEvent[], id: string, secret: Uint8Array, answer: string): void {
    const turns = ofType(events, 'InferenceCompleted');
    expect(turns, events.map((e) => e.type).join()).to.have.length(1);
    const [completed] = ofType(events, 'TaskCompleted');
    expect(completed, events.map((e) => e.type).join()).to.not.equal(undefined);
    const data = completed.data as { output: { answerHash: string }; sealedAnswer?: SealedAnswer };
    expect(completed.version).to.equal(2);
    expect(data.output).to.deep.equal({ answerHash: payloadDigest(answer).hash });
    // The copy the turn recorded, sealed before it was recorded: the resumed run had no other.
    const turn = turns[0].data as { responseRedacted: { contentHash: string }; sealedAnswer?: SealedAnswer };
    expect(turns[0].version).to.equal(5);
    expect(turn.responseRedacted.contentHash).to.equal(data.output.answerHash);
    expect(data.sealedAnswer).to.deep.equal(turn.sealedAnswer);
    expect(openSealedAnswer(data.sealedAnswer!, secret, { taskId: id, answerHash: data.output.answerHash })).to.equal(answer);
  }

  it('with an answerRecipient, a final answer recorded before a restart is sealed all the same, from the copy its turn recorded sealed: the task completes with it (TaskCompleted v2), and the model is not asked again', async () => {
    fake.setScript(() => ({ content: 'done: uniform-secret' }));
    const asked = fake.requests.length;
    const { secret, recipient } = recipientKeys();
    const id = await submitTask(store, 'acme', { instruction: 'say it', answerRecipient: recipient });
    const failing = new Set(['TaskCompleted', 'TaskFailed']);
    await worker('worker-a', { store: flakyStore(taskStream(id), (t) => failing.delete(t)), opts: { llmCacheTtlMs: 0 } }).start();
    const events = await waitForTask(store, id, ended);
    expect(failing.size, 'both appends failed once').to.equal(0);
    expectSealedOnce(events, id, secret, 'done: uniform-secret');
    expect(fake.requests.length - asked).to.equal(1);
    expect(await logText()).to.not.match(SECRETS);
  });

  it('with an answerRecipient, another worker that takes the task over after its final turn was recorded completes it with that sealed answer', async () => {
    fake.setScript(() => ({ content: 'done: uniform-secret ✓' }));
    const asked = fake.requests.length;
    const { secret, recipient } = recipientKeys();
    const id = await submitTask(store, 'acme', { instruction: 'say it', answerRecipient: recipient });
    // worker-a dies while appending TaskCompleted (the append never lands), its lease left to expire.
    let lost!: () => void;
    const connection = new Promise<void>((r) => (lost = r));
    const a = worker('worker-a', { store: flakyStore(taskStream(id), (t) => (t === 'TaskCompleted' || t === 'TaskFailed' ? connection : false)) });
    await a.start();
    await waitForTask(store, id, (es) => ofType(es, 'InferenceCompleted').length > 0);
    const dead = a.kill();
    lost();
    await dead;
    expect(ofType(await store.readStream(taskStream(id)), 'TaskCompleted')).to.have.length(0);
    await worker('worker-b').start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskLeased').map((e) => (e.data as { worker: string }).worker)).to.include('worker-b');
    expect(ofType(events, 'TaskCompleted')[0].actor.id).to.equal('worker-b');
    expectSealedOnce(events, id, secret, 'done: uniform-secret ✓');
    expect(fake.requests.length - asked).to.equal(1);
    expect(await logText()).to.not.match(SECRETS);
  });

  it('with an answerRecipient, a final turn recorded without a sealed copy (by a worker from before InferenceCompleted v5) and resumed without the response cache completes with answerHash alone (TaskCompleted v1), as before', async () => {
    fake.setScript(() => ({ content: 'done: uniform-secret' }));
    const id = await submitTask(store, 'acme', { instruction: 'say it', answerRecipient: recipientKeys().recipient });
    // worker-a records the final turn as an older worker did (v4, no sealedAnswer), then loses the store before TaskCompleted (and TaskFailed).
    const failing = new Set(['TaskCompleted', 'TaskFailed']);
    const older = new Proxy(store, {
      get(target, key) {
        if (key === 'append') {
          return (name: string, events: PendingEvent[], o?: object) => {
            const [e] = events;
            if (name === taskStream(id) && failing.delete(e.type)) return Promise.reject(new Error(`connection lost appending ${e.type}`));
            if (name !== taskStream(id) || e.type !== 'InferenceCompleted' || e.version !== 5) return target.append(name, events, o);
            const { sealedAnswer: _s, ...data } = e.data as Record<string, unknown>;
            return target.append(name, [createEvent({ ...e, version: 4, data: catalog.validate('InferenceCompleted', 4, data) })], o);
          };
        }
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    await worker('worker-a', { store: older }).start();
    const events = await waitForTask(store, id, ended);
    expect(failing.size, 'both appends failed once').to.equal(0);
    expect(ofType(events, 'InferenceCompleted').map((e) => e.version)).to.deep.equal([4]);
    const [completed] = ofType(events, 'TaskCompleted');
    expect(outputOf(events)).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret').hash });
    expect(completed.version).to.equal(1);
    expect(await logText()).to.not.match(SECRETS);
  });

  it("a started non-idempotent call of such a turn still fails the task STEP_OUTCOME_UNKNOWN (as under store): it is never made twice", async () => {
    fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'm1', name: 'mail__send', arguments: { to: 'sierra-secret' } }] } : { content: 'done' }));
    tools.hang = true;
    const a = worker('worker-a');
    await a.start();
    const id = await submitTask(store, 'acme', { instruction: 'mail sierra' });
    await waitForTask(store, id, (es) => ofType(es, 'TaskStepStarted').length > 0);
    await a.kill();
    tools.hang = false;
    await worker('worker-b').start();
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('STEP_OUTCOME_UNKNOWN');
    expect(tools.calls).to.have.length(1);
  });

  describe('in Redis (REDIS_URL)', () => {
    const r = useRedisTestCache('omc_redaction_resume', async () => {
      await Promise.all(runtimes.map((x) => x.kill()));
      runtimes = [];
    });

    it("under MCP_PAYLOAD_POLICY=encrypted with LLM_CACHE_TTL_MS set: each turn's llm:prompt:<tenant>:<salted promptHash> entry names the model and plain hash its answer is cached under, expires as that does (PTTL), and a resumed run follows it; neither plain hash is in the log", async () => {
      tools.payloadPolicy = 'encrypted';
      subjectKeys = new MemorySubjectKeyStore();
      const { events, asked } = await dieDuringCall(r.cache, r.cache, { llmCacheTtlMs: 60_000 });
      const turns = ofType(events, 'InferenceCompleted');
      expect(turns.map((e) => e.version)).to.deep.equal([8, 8]);
      expect(failuresOf(events), 'turn 0 replayed whole from the cache').to.deep.equal([]);
      expect(fake.requests.length - asked).to.equal(1);
      const log = await logText();
      for (const t of turns) {
        const pointer = r.prefix + saltedPromptCacheKey('acme', (t.data as { promptHash: string }).promptHash);
        const saved = JSON.parse((await r.redis.get(pointer))!) as { model: string; promptHash: string };
        expect(saved.model).to.equal('m');
        const plain = saved.promptHash;
        expect(plain).to.match(/^0x[0-9a-f]{64}$/);
        expect(await r.redis.get(r.prefix + responseCacheKey('acme', 'm', plain))).to.contain('"role":"assistant"');
        expect(await r.redis.pttl(pointer)).to.be.within(1, 60_000);
        expect(await r.redis.pttl(r.prefix + responseCacheKey('acme', 'm', plain))).to.be.within(1, 60_000);
        expect(log).to.not.contain(plain.slice(2));
      }
      expect(Object.keys(await r.everything()).filter((k) => k.includes('llm:prompt:') && !k.startsWith(`${r.prefix}llm:prompt:acme:0x`))).to.deep.equal([]);
    });
  });
});
