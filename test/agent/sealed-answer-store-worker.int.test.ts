/**
 * A task submitted with `answerRecipient` reaching a worker whose own LLM_REDACTION is `store` (the
 * API runs hash-only: a misconfiguration, or a rolling change of the setting). The client asked for
 * an answer only it can read; the log is append-only, so a prompt or answer recorded whole there
 * stays for good. The task is run hash-only whatever the worker's setting (docs/agent.md, "Sealed answers").
 */
import { expect } from 'chai';
import * as secp from '@noble/secp256k1';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import { toHex } from '../../src/core/hex';
import { openSealedAnswer, type SealedAnswer } from '../../src/core/sealed-answer';
import type { EventStore } from '../../src/eventstore/port';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { responseCacheKey } from '../../src/agent/llm/infer';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { OpenAiFake, ChatRequest } from '../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

const SIGNER = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
/** The model's words (its interim text, a tool call's arguments, its final answer): never in the log in clear. */
const MODEL_WORDS = /tango-secret|sierra-secret|uniform-secret/;
/** In the instruction only: the client's own input (TaskSubmitted), never repeated in a turn's record. */
const PROMPT = 'prompt-oscar';

/** An in-test ToolCaller (our own port): records what the gateway was told about each call. */
class Tools implements ToolCaller {
  contexts: ToolCallContext[] = [];
  tools: ToolInfo[] = [{ name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  async callTool(ctx: ToolCallContext) {
    this.contexts.push(ctx);
    return { content: [{ type: 'text', text: 'a value' }] };
  }
  async searchTools() {
    return this.tools.map((tool) => ({ tool, score: 1 }));
  }
  listTools() {
    return this.tools;
  }
}

describe('a task with answerRecipient on a worker configured LLM_REDACTION=store (openai-fake)', function () {
  this.timeout(30_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;
  useStoreAndFake('omc-sealed-store-', (s) => ({ store, fake } = s), async () => void (await runtime?.kill()));

  async function run(answerRecipient?: string, llmCacheTtlMs?: number): Promise<{ events: RecordedEvent[]; tools: Tools; cache: MemoryCache; id: string }> {
    const tools = new Tools();
    const cache = new MemoryCache();
    fake.setScript((req: ChatRequest) =>
      req.messages.some((m) => m.role === 'tool')
        ? { content: 'done: uniform-secret ✓' }
        : { content: 'looking up tango-secret', toolCalls: [{ id: 'k1', name: 'kv__get', arguments: { k: 'sierra-secret' } }] },
    );
    runtime = new AgentRuntime(
      { store, catalog, tools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache, policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*'] } }] }), privateKey: SIGNER },
      { worker: 'w-store', model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000, redaction: 'store', ...(llmCacheTtlMs !== undefined ? { llmCacheTtlMs } : {}) },
      new MemoryCheckpointStore(),
    );
    await runtime.start();
    const id = await submitTask(store, 'acme', { instruction: `read kv sierra (${PROMPT})`, ...(answerRecipient ? { answerRecipient } : {}) });
    return { events: await waitForTask(store, id, ended), tools, cache, id };
  }

  it('is run hash-only all the same: no prompt or answer in any event, tool arguments by hash (gateway too), no answer cached; the answer is sealed and opens with the private key', async () => {
    const secret = secp.utils.randomSecretKey();
    const recipient = toHex(secp.getPublicKey(secret, true));
    const { events, tools, cache, id } = await run(recipient);
    const [completed] = ofType(events, 'TaskCompleted');
    expect(completed, events.map((e) => e.type).join()).to.not.equal(undefined);
    const data = completed.data as { output: Record<string, unknown>; sealedAnswer?: SealedAnswer };
    expect(data.output).to.deep.equal({ answerHash: payloadDigest('done: uniform-secret ✓').hash });
    expect(completed.version).to.equal(2);
    expect(openSealedAnswer(data.sealedAnswer!, secret, { taskId: id, answerHash: data.output.answerHash as string })).to.equal('done: uniform-secret ✓');

    const recorded = events.filter((e) => e.type !== 'TaskSubmitted');
    expect(JSON.stringify(recorded)).to.not.match(MODEL_WORDS).and.not.contain(PROMPT);
    const turns = ofType(events, 'InferenceCompleted');
    // The final turn keeps the answer sealed (v5), the very copy TaskCompleted holds.
    expect(turns.map((e) => [e.version, (e.data as { redaction: string }).redaction])).to.deep.equal([[4, 'hash-only'], [5, 'hash-only']]);
    expect((turns[1].data as { sealedAnswer?: SealedAnswer }).sealedAnswer).to.deep.equal(data.sealedAnswer);
    for (const t of turns) expect(t.data).to.not.have.any.keys('messagesJson', 'responseJson');
    expect(tools.contexts.map((c) => c.argumentsPolicy)).to.deep.equal(['hash-only']);
    for (const t of turns) expect(await cache.get(responseCacheKey('acme', 'm', (t.data as { promptHash: string }).promptHash))).to.equal(undefined);
  });

  it("keeps its answers out of the response cache even when the store worker's LLM_CACHE_TTL_MS is set (set for its store tasks)", async () => {
    const secret = secp.utils.randomSecretKey();
    const sealed = await run(toHex(secp.getPublicKey(secret, true)), 60_000);
    const sealedTurns = ofType(sealed.events, 'InferenceCompleted');
    expect(sealedTurns).to.have.length(2);
    for (const t of sealedTurns) expect(await sealed.cache.get(responseCacheKey('acme', 'm', (t.data as { promptHash: string }).promptHash))).to.equal(undefined);
    // The same worker does cache a store task's turns: the setting is in force.
    await runtime?.kill();
    const plain = await run(undefined, 60_000);
    const cachedTurns = await Promise.all(ofType(plain.events, 'InferenceCompleted').map((t) => plain.cache.get(responseCacheKey('acme', 'm', (t.data as { promptHash: string }).promptHash))));
    expect(cachedTurns.filter((v) => v !== undefined)).to.have.length(2);
  });

  it('without a recipient the worker keeps to its setting: the turns and the answer recorded whole', async () => {
    const { events } = await run();
    const [completed] = ofType(events, 'TaskCompleted');
    expect((completed.data as { output: Record<string, unknown> }).output).to.deep.equal({ answer: 'done: uniform-secret ✓' });
    expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { redaction: string }).redaction)).to.deep.equal(['store', 'store']);
  });
});
