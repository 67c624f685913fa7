/**
 * Token budgets against an OpenAI-compatible server that reports no usage (several local servers
 * answer without `usage`): the real `openai` SDK over HTTP against openai-fake. Such answers used
 * to count 0 tokens, so LLM_TOKEN_BUDGET_PER_TASK and LLM_TOKEN_BUDGET_PER_TENANT_DAY never
 * stopped anything; now an estimate is counted, and recorded as one (InferenceCompleted v3,
 * `usage.estimated: true`).
 */
import { expect } from 'chai';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { TokenBudget, type TokenBudgetOptions } from '../../src/agent/llm/token-budget';
import { CacheSpendLedger, utcDay } from '../../src/agent/policy/spend-ledger';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller } from '../../src/agent/runtime/tool-caller';
import type { ChatRequest, FakeReply, OpenAiFake } from '../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;

type Usage = { promptTokens: number; completionTokens: number; totalTokens: number; estimated?: true };

/** A model that never finishes: every turn reads a value again. Instructions with "silent" get answers without usage. */
const looping = (req: ChatRequest, i: number): FakeReply => ({
  toolCalls: [{ id: `c${i}`, name: 'kv__get', arguments: { key: `k${i}` } }],
  usage: req.messages.some((m) => m.role === 'user' && m.content?.includes('silent')) ? null : { prompt_tokens: 500, completion_tokens: 20 },
});

const tools: ToolCaller = {
  callTool: async (_ctx, _name, args) => ({ content: [{ type: 'text', text: `value of ${String(args.key)}: 42` }] }),
  listTools: () => [{ name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object', properties: { key: { type: 'string' } } }, annotations: { readOnlyHint: true, idempotentHint: true } }],
};

describe('token budgets when the LLM server reports no usage (openai SDK against openai-fake)', function () {
  this.timeout(60_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-usage-', (s) => ({ store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  const client = () => new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 });
  const req = { messages: [{ role: 'system' as const, content: 'You are an agent.' }, { role: 'user' as const, content: 'read the value of k1 and tell me what it is' }], tools: [{ name: 'kv__get', description: 'read a value by key', parameters: { type: 'object', properties: { key: { type: 'string' } } } }], model: 'm', temperature: 0, maxTokens: 100 };

  it('the adapter counts an estimate, marked as one, for an answer without usage', async () => {
    fake.setScript([{ content: 'The value of k1 is 42.', usage: null }, { toolCalls: [{ id: 'c', name: 'kv__get', arguments: { key: 'k1' } }], usage: null }]);
    const text = await client().complete(req);
    expect(text.usage.estimated).to.equal(true);
    expect(text.usage.promptTokens, 'the messages and the tool definitions').to.be.above(20);
    expect(text.usage.completionTokens).to.be.within(1, 'The value of k1 is 42.'.length);
    expect(text.usage.totalTokens).to.equal(text.usage.promptTokens + text.usage.completionTokens);
    const call = await client().complete(req);
    expect(call.usage.estimated).to.equal(true);
    expect(call.usage.promptTokens).to.equal(text.usage.promptTokens);
    expect(call.usage.completionTokens, 'the tool call it asked for').to.be.above(1);
  });

  it("for a model whose tokenizer gpt-tokenizer knows (gpt-4o-mini), the adapter counts exactly with it, still marked as an estimate", async () => {
    fake.setScript([{ content: 'The value of k1 is 42.', usage: null }]);
    const { encodeChat, countTokens } = require('gpt-tokenizer/encoding/o200k_base') as typeof import('gpt-tokenizer/encoding/o200k_base');
    const known = await new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'gpt-4o-mini', maxRetries: 0 }).complete({ ...req, model: 'gpt-4o-mini' });
    const prompt = encodeChat(req.messages, 'gpt-4o-mini').length + countTokens(JSON.stringify(req.tools));
    expect(known.usage).to.deep.equal({ promptTokens: prompt, completionTokens: countTokens('The value of k1 is 42.'), totalTokens: prompt + countTokens('The value of k1 is 42.'), estimated: true });
  });

  it('the adapter keeps what the server counted and estimates only what it left out', async () => {
    const estimated = (await (fake.setScript([{ content: 'ok', usage: null }]), client().complete(req))).usage;
    const cases: [FakeReply['usage'], Usage][] = [
      [{ prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 }, { promptTokens: 30, completionTokens: 2, totalTokens: 32 }],
      // No total: the sum (it was 0, and 0 is what the budgets count).
      [{ prompt_tokens: 30, completion_tokens: 2 }, { promptTokens: 30, completionTokens: 2, totalTokens: 32 }],
      [{ prompt_tokens: 30 }, { promptTokens: 30, completionTokens: estimated.completionTokens, totalTokens: 30 + estimated.completionTokens, estimated: true }],
      // An empty answer may be 0 tokens; a prompt never is: a server that says so counted nothing.
      [{ prompt_tokens: 30, completion_tokens: 0 }, { promptTokens: 30, completionTokens: 0, totalTokens: 30 }],
      [{ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, { ...estimated }],
      // Only a total: kept, as the least that was used.
      [{ total_tokens: 10_000 }, { ...estimated, totalTokens: 10_000 }],
      [{ prompt_tokens: -1, completion_tokens: 1.5 } as never, { ...estimated }],
    ];
    for (const [usage, expected] of cases) {
      fake.setScript([{ content: 'ok', usage }]);
      expect((await client().complete(req)).usage, JSON.stringify(usage)).to.deep.equal(expected);
    }
  });

  async function runTask(budget: TokenBudgetOptions, instruction: string, ledger = new CacheSpendLedger(new MemoryCache())): Promise<RecordedEvent[]> {
    const deps = { store, catalog, tools, llm: client(), cache: new MemoryCache(), ledger, tokenBudget: new TokenBudget(ledger, budget), policy: parsePolicy({ policies: [{ tenant: '*' }] }), privateKey: KEY };
    runtime ??= new AgentRuntime(deps, { model: 'm', maxSteps: 60, stepTimeoutMs: 5_000 }, new MemoryCheckpointStore());
    await runtime.start();
    const id = await submitTask(store, 'acme', { instruction });
    return waitForTask(store, id, ended, 30_000);
  }

  const failure = (events: RecordedEvent[]) => (ofType(events, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;
  const usages = (events: RecordedEvent[]) => ofType(events, 'InferenceCompleted').map((e) => ({ version: e.version, ...(e.data as { usage: Usage }).usage }));

  it('a task whose server never reports usage is stopped by LLM_TOKEN_BUDGET_PER_TASK, as one whose server does', async () => {
    fake.setScript(looping);
    const perTask = 1_500;
    const counted = await runTask({ perTask }, 'read kv values for ever');
    expect(failure(counted)?.code).to.equal('LLM_BUDGET_EXCEEDED');
    expect(usages(counted)).to.have.length(3);
    await runtime!.stop();
    runtime = undefined;

    const silent = await runTask({ perTask }, 'read kv values for ever, silent');
    const error = failure(silent);
    expect(error?.code, JSON.stringify(error)).to.equal('LLM_BUDGET_EXCEEDED');
    expect(error?.message).to.contain('LLM_TOKEN_BUDGET_PER_TASK');
    const turns = usages(silent);
    expect(turns.length).to.be.within(2, 40);
    for (const u of turns) {
      expect(u).to.include({ version: 3, estimated: true });
      expect(u.promptTokens).to.be.above(0);
      expect(u.completionTokens).to.be.above(0);
      expect(u.totalTokens).to.equal(u.promptTokens + u.completionTokens);
    }
    // It passes its budget by at most its last call, as with counted usage.
    const total = turns.reduce((n, u) => n + u.totalTokens, 0);
    expect(total).to.be.at.least(perTask);
    expect(total - turns[turns.length - 1].totalTokens).to.be.below(perTask);
  });

  it("a tenant whose server never reports usage is stopped by LLM_TOKEN_BUDGET_PER_TENANT_DAY, the estimates in the tenant's ledger", async () => {
    fake.setScript(() => ({ content: 'done', usage: null }));
    const ledger = new CacheSpendLedger(new MemoryCache());
    const first = await runTask({ perTenantDay: 50 }, 'say done', ledger);
    expect(ofType(first, 'TaskCompleted')).to.have.length(1);
    const [u] = usages(first);
    expect(u).to.include({ version: 3, estimated: true });
    expect(u.totalTokens).to.be.above(50);
    expect(Number(await ledger.spent('acme', '*', 'llm-tokens', utcDay(new Date())))).to.equal(u.totalTokens);
    const second = await runTask({ perTenantDay: 50 }, 'say done again', ledger);
    expect(failure(second)?.code).to.equal('LLM_BUDGET_EXCEEDED');
    expect(failure(second)?.message).to.contain('LLM_TOKEN_BUDGET_PER_TENANT_DAY');
  });
});
