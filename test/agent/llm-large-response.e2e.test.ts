import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { createEvent, MAX_EVENT_BYTES, type RecordedEvent } from '../../src/core/envelope';
import { canonicalJson } from '../../src/core/canonical';
import { taskStream } from '../../src/domain/task/task.decider';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import type { AgentRuntimeOptions } from '../../src/agent/runtime/runtime-deps';
import { startOpenAiFake, type ChatRequest, type FakeScript, type OpenAiFake, toolMessages } from '../support/openai-fake/openai-fake';
import { MemoryCache, ended, ofType, openStore, submitTask, waitForTask } from './support/agent-fixture';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;

type Failed = { error: { code: string; message: string } };
type Inference = { turn: number; responseJson?: string; responseOmitted?: { hash: string; chars: number; head: string }; messagesJson?: string; usage: { totalTokens: number } };
const failure = (events: RecordedEvent[]) => (ofType(events, 'TaskFailed')[0]?.data as Failed | undefined)?.error;
/** The stored size of an event as the store and the relay see it (canonical JSON, UTF-8). */
const bytesOf = (e: RecordedEvent) => Buffer.byteLength(canonicalJson({ ...e, position: undefined, revision: undefined }));

/**
 * A model answer too large for the log (InferenceCompleted.responseJson holds at most 1,000,000
 * characters; an event at most MAX_EVENT_BYTES), through the real `openai` SDK against openai-fake.
 */
describe('agent runtime: a model answer too large for the log (openai SDK + openai-fake + gateway/examples)', function () {
  this.timeout(180_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let gateway: McpGateway;
  let runtime: AgentRuntime | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-llmbig-'));
    store = await openStore(dir);
    fake = await startOpenAiFake();
    gateway = new McpGateway({ store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    await gateway.ensureServer(examplesServer(undefined, { testTools: true }));
  });
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });
  after(async () => {
    await gateway?.close();
    await fake?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function startRuntime(opts: Partial<AgentRuntimeOptions> = {}): AgentRuntime {
    runtime = new AgentRuntime(
      {
        store,
        catalog,
        tools: gateway,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['examples__*'] } }] }),
        privateKey: KEY,
      },
      { model: 'm', stepTimeoutMs: 20_000, maxSteps: 10, ...opts },
    );
    return runtime;
  }

  async function run(script: FakeScript, opts: Partial<AgentRuntimeOptions> = {}): Promise<{ id: string; events: RecordedEvent[]; requests: ChatRequest[] }> {
    fake.setScript(script);
    const first = fake.requests.length;
    await startRuntime(opts).start();
    const id = await submitTask(store, 'acme', { instruction: 'use the examples tools' });
    const events = await waitForTask(store, id, ended, 120_000);
    return { id, events, requests: fake.requests.slice(first) };
  }

  it('an answer over 1,000,000 characters: the turn is recorded (usage, digest, length, head; v2), then TaskFailed LLM_RESPONSE_TOO_LARGE; asked once', async () => {
    const content = 'z'.repeat(1_200_000);
    const { events, requests } = await run(() => ({ content, usage: { prompt_tokens: 20, completion_tokens: 300_000 } }));
    expect(requests).to.have.length(1);
    expect(failure(events)?.code, JSON.stringify(failure(events))).to.equal('LLM_RESPONSE_TOO_LARGE');
    expect(failure(events)?.message).to.contain('1000000').and.contain('LLM_MAX_TOKENS');
    expect(ofType(events, 'TaskCompleted')).to.have.length(0);
    expect(events[events.length - 1].type).to.equal('TaskFailed');
    const [inf] = ofType(events, 'InferenceCompleted');
    expect(inf.version).to.equal(2);
    const d = inf.data as Inference;
    expect(d.responseJson).to.equal(undefined);
    const full = payloadDigest({ role: 'assistant', content });
    expect(d.responseOmitted?.hash).to.equal(full.hash);
    expect(d.responseOmitted?.chars).to.equal(full.json.length);
    expect(full.json.startsWith(d.responseOmitted!.head)).to.equal(true);
    expect(d.responseOmitted!.head.length).to.be.within(1_000, 10_000);
    // The tokens were paid for: the task's usage counts them.
    expect(d.usage.totalTokens).to.equal(300_020);
    for (const e of events) expect(bytesOf(e)).to.be.below(MAX_EVENT_BYTES);
  });

  it('a tool call whose arguments are over the limit: the same, and the tool is never called', async () => {
    const { events, requests } = await run(() => ({ toolCalls: [{ name: 'examples__echo', arguments: { text: 'w'.repeat(1_100_000) } }] }));
    expect(requests).to.have.length(1);
    expect(failure(events)?.code).to.equal('LLM_RESPONSE_TOO_LARGE');
    expect(ofType(events, 'TaskStepStarted')).to.have.length(0);
    expect((ofType(events, 'InferenceCompleted')[0].data as Inference).responseOmitted?.chars).to.be.above(1_100_000);
  });

  it('answers under the character cap but wide in UTF-8: messagesJson is left out to keep the event under MAX_EVENT_BYTES, and the task completes', async () => {
    // 400,000 three-byte characters per tool call: 1.2 MB of responseJson each, and the conversation carries them all
    // (turn 3: 3.6 MB of messages and 1.2 MB of response, 1.6 million characters, under messagesJson's 2,000,000).
    const text = '€'.repeat(400_000);
    const turns = 4;
    const { events } = await run((req) => (toolMessages(req).length >= turns ? { content: 'done' } : { toolCalls: [{ name: 'examples__echo', arguments: { text } }] }), { toolResultMaxChars: 1_000 });
    expect(failure(events), JSON.stringify(failure(events))).to.equal(undefined);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    const inf = ofType(events, 'InferenceCompleted');
    expect(inf).to.have.length(turns + 1);
    for (const e of events) expect(bytesOf(e), e.type).to.be.below(MAX_EVENT_BYTES);
    // Every response kept whole (v1, as before), the messages only while they fit.
    expect(inf.map((e) => e.version)).to.deep.equal(Array(turns + 1).fill(1));
    expect((inf[0].data as Inference).messagesJson).to.be.a('string');
    expect((inf[turns - 1].data as Inference).messagesJson).to.equal(undefined);
  });

  it('after a crash between the recorded turn and TaskFailed: the resumed run fails the same way without asking the model again', async () => {
    const id = await submitTask(store, 'acme', { instruction: 'resume me' });
    const content = 'q'.repeat(1_050_000);
    const full = payloadDigest({ role: 'assistant', content });
    const history = await store.readStream(taskStream(id));
    const turn = createEvent({
      type: 'InferenceCompleted',
      version: 2,
      stream: taskStream(id),
      tenant: 'acme',
      actor: { kind: 'agent', id: 'crashed-worker' },
      data: catalog.validate('InferenceCompleted', 2, {
        turn: 0, provider: 'fake', model: 'm', promptHash: `0x${'1'.repeat(64)}`, redaction: 'hash-only',
        responseOmitted: { hash: full.hash, chars: full.json.length, head: full.json.slice(0, 100) },
        finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, latencyMs: 5, cached: false, knowledgeChunks: [], tools: [],
      }),
    });
    await store.append(taskStream(id), [turn], { expectedRevision: history[history.length - 1].revision });
    fake.setScript(() => ({ content: 'must not be asked' }));
    const asked = fake.requests.length;
    await startRuntime().start();
    const events = await waitForTask(store, id, ended, 60_000);
    expect(failure(events)?.code).to.equal('LLM_RESPONSE_TOO_LARGE');
    expect(fake.requests.length).to.equal(asked);
    expect(ofType(events, 'InferenceCompleted')).to.have.length(1);
  });

  it('an answer just under the cap is kept whole (v1) and the task completes with it', async () => {
    const content = 'k'.repeat(900_000);
    const { events } = await run(() => ({ content }));
    expect(failure(events)).to.equal(undefined);
    const [inf] = ofType(events, 'InferenceCompleted');
    expect(inf.version).to.equal(1);
    expect(JSON.parse((inf.data as Inference).responseJson!).content).to.equal(content);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal(content);
  });
});
