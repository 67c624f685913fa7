import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { infer } from '../../src/agent/llm/infer';
import { TokenBudget } from '../../src/agent/llm/token-budget';
import { CacheSpendLedger } from '../../src/agent/policy/spend-ledger';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';

describe('LLM adapter (openai SDK over HTTP against openai-fake)', function () {
  this.timeout(20_000);
  let fake: OpenAiFake;
  before(async () => {
    fake = await startOpenAiFake();
  });
  after(async () => fake?.close());

  const client = () => new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'k', model: 'm', maxRetries: 0 });
  const req = (content: string, temperature = 0) => ({ messages: [{ role: 'user' as const, content }], tools: [{ name: 'examples__echo', description: 'echo', parameters: { type: 'object', properties: { text: { type: 'string' } } } }], model: 'm', temperature, maxTokens: 50 });

  it('returns tool calls and usage, and sends tools, sampling and the key', async () => {
    fake.setScript([{ toolCalls: [{ id: 'c1', name: 'examples__echo', arguments: { text: 'hi' } }], usage: { prompt_tokens: 12, completion_tokens: 3 } }]);
    const c = await client().complete(req('say hi'));
    expect(c.message.tool_calls).to.deep.equal([{ id: 'c1', type: 'function', function: { name: 'examples__echo', arguments: '{"text":"hi"}' } }]);
    expect(c.usage).to.deep.equal({ promptTokens: 12, completionTokens: 3, totalTokens: 15 });
    expect(c.finishReason).to.equal('tool_calls');
    const sent = fake.requests[fake.requests.length - 1];
    expect(sent.tools?.[0].function.name).to.equal('examples__echo');
    expect(sent.max_tokens).to.equal(50);
    expect(fake.authorizations[fake.authorizations.length - 1]).to.equal('Bearer k');
  });

  it('caches by model + messages hash at temperature 0, and not otherwise', async () => {
    fake.setScript(() => ({ content: 'answer' }));
    const cache = new MemoryCache();
    const n = fake.requests.length;
    const a = await infer({ llm: client(), tenant: 'acme', cache }, req('cache me'));
    const b = await infer({ llm: client(), tenant: 'acme', cache }, req('cache me'));
    expect([a.cached, b.cached]).to.deep.equal([false, true]);
    expect(b.promptHash).to.equal(a.promptHash);
    expect(b.completion).to.deep.equal(a.completion);
    await infer({ llm: client(), tenant: 'acme', cache }, req('cache me too'));
    await infer({ llm: client(), tenant: 'acme', cache }, req('warm', 0.7));
    const w = await infer({ llm: client(), tenant: 'acme', cache }, req('warm', 0.7));
    expect(w.cached).to.equal(false);
    expect(fake.requests.length - n).to.equal(4);
  });

  it("keeps each tenant's cached answers to itself (a hit would tell one tenant another sent the prompt)", async () => {
    fake.setScript(() => ({ content: 'answer' }));
    const cache = new MemoryCache();
    await infer({ llm: client(), tenant: 'acme', cache }, req('same prompt'));
    const other = await infer({ llm: client(), tenant: 'globex', cache }, req('same prompt'));
    const again = await infer({ llm: client(), tenant: 'acme', cache }, req('same prompt'));
    expect([other.cached, again.cached]).to.deep.equal([false, true]);
  });

  const answer = (message: Record<string, unknown>, finish_reason = 'tool_calls') =>
    JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

  it('takes a tool call without its type (null or left out, as some vLLM, Ollama and Azure servers send) as the function call it is', async () => {
    // They were dropped: the turn had no tool call and no text, and the task completed with an empty answer, signed.
    const calls = [
      { id: 'a', function: { name: 'examples__echo', arguments: '{"text":"a"}' } },
      { id: 'b', type: null, function: { name: 'examples__echo', arguments: '{"text":"b"}' } },
    ];
    fake.setScript([{ raw: answer({ content: null, tool_calls: calls }) }]);
    const c = await client().complete(req('echo twice'));
    expect(c.message.tool_calls?.map((t) => [t.id, t.type, t.function.arguments])).to.deep.equal([['a', 'function', '{"text":"a"}'], ['b', 'function', '{"text":"b"}']]);
  });

  it('an answer asking for tool calls none of which it can make (and without text) is LLM_RESPONSE_INVALID, not an empty answer', async () => {
    fake.setScript([{ raw: answer({ content: null, tool_calls: [{ id: 'a', type: 'custom', custom: { name: 'x', input: 'y' } }] }) }, { raw: answer({ content: '', tool_calls: [{ id: 'a', type: 'function', function: {} }] }) }]);
    for (let i = 0; i < 2; i++) {
      const err = await client().complete(req('x')).catch((e) => e);
      expect(err.code, String(err)).to.equal('LLM_RESPONSE_INVALID');
      expect(err.message).to.contain('tool call');
    }
  });

  it('reports an endpoint failure as LLM_UNAVAILABLE with the URL', async () => {
    fake.setScript([{ status: 500 }]);
    const err = await client().complete(req('x')).catch((e) => e);
    expect(err.code).to.equal('LLM_UNAVAILABLE');
    expect(err.message).to.contain('127.0.0.1');
  });

  for (const [status, says] of [
    [401, /401 .*: check OPENAI_API_KEY$/],
    [403, /403 .*: check OPENAI_API_KEY$/],
    [404, /404 .*: check OPENAI_MODEL \(m\) and OPENAI_BASE_URL \(an OpenAI-compatible base URL usually ends in \/v1\)$/],
    [400, /400 .*; refused as a bad request, so not retried$/],
    [413, /413 .*; refused as a bad request, so not retried$/],
    [422, /422 .*; refused as a bad request, so not retried$/],
  ] as const) {
    it(`an endpoint's ${status} is LLM_REQUEST_REFUSED (not retried, not "unavailable"), with the provider's status and words and which setting to check`, async () => {
      fake.setScript([{ status, errorMessage: `scripted ${status}` }, { content: 'a retry must not get here' }]);
      const n = fake.requests.length;
      const err = await new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'k', model: 'm', maxRetries: 2 }).complete(req('x')).catch((e) => e);
      expect(err.code).to.equal('LLM_REQUEST_REFUSED');
      expect(err.status, 'not 503: retrying later would not change it').to.equal(502);
      expect(err.details).to.deep.include({ providerStatus: status, serverText: `scripted ${status}` });
      expect(err.message).to.contain(`scripted ${status}`);
      expect(err.message).to.match(says);
      expect(fake.requests.length - n, 'not retried').to.equal(1);
    });
  }

  it("a refusal's message never shows the API key, even where the server echoes it", async () => {
    const key = 'sk-live-0123456789abcdef';
    fake.setScript([{ status: 401, errorMessage: `Incorrect API key provided: ${key}. You can find your API key at https://example.invalid` }]);
    const err = await new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: key, model: 'm', maxRetries: 0 }).complete(req('x')).catch((e) => e);
    expect(err.code).to.equal('LLM_REQUEST_REFUSED');
    expect(err.message).to.not.contain(key);
    expect(err.message).to.contain('Incorrect API key provided: ***');
    expect(JSON.stringify(err.details)).to.not.contain(key);
  });

  it("a placeholder key (Ollama's `ollama`, `x`) is not masked in the provider's words: it is no secret, and masking garbles them", async () => {
    fake.setScript([{ status: 404, errorMessage: 'model "ollama/llama3.2:latest" not found, try pulling it first' }, { status: 400, errorMessage: 'maximum context length exceeded' }]);
    const err = await new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'ollama', model: 'ollama/llama3.2:latest', maxRetries: 0 }).complete(req('x')).catch((e) => e);
    expect(err.code).to.equal('LLM_REQUEST_REFUSED');
    expect(err.message).to.contain('model "ollama/llama3.2:latest" not found');
    const x = await new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'x', model: 'm', maxRetries: 0 }).complete(req('x')).catch((e) => e);
    expect(x.code).to.equal('LLM_REQUEST_REFUSED');
    expect(x.message).to.contain('maximum context length exceeded');
  });

  for (const status of [408, 409, 429, 500, 503] as const) {
    it(`an endpoint's ${status} is still retried and, when it lasts, LLM_UNAVAILABLE`, async () => {
      fake.setScript([{ status }, { status }]);
      const n = fake.requests.length;
      const err = await new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'k', model: 'm', maxRetries: 1 }).complete(req('x')).catch((e) => e);
      expect(err.code).to.equal('LLM_UNAVAILABLE');
      expect(fake.requests.length - n).to.equal(2);
    });
  }

  it('enforces token budgets per task and per tenant and day', async () => {
    const budget = new TokenBudget(new CacheSpendLedger(new MemoryCache()), { perTask: 100, perTenantDay: 150 });
    const day = new Date('2026-11-22T10:00:00Z');
    const call = (tenant: string, taskTokens: number, now = day) => budget.reserve({ tenant, taskTokens, estimate: 10, now: () => now, ttlMs: 1_000 });
    await (await call('acme', 99)).settle(0, day);
    const perTask = await call('acme', 100).catch((e) => e);
    expect(perTask.code).to.equal('LLM_BUDGET_EXCEEDED');
    expect(perTask.message).to.contain('LLM_TOKEN_BUDGET_PER_TASK');
    await (await call('acme', 0)).settle(150, day);
    const err = await call('acme', 0).catch((e) => e);
    expect(err.code).to.equal('LLM_BUDGET_EXCEEDED');
    expect(err.message).to.contain('LLM_TOKEN_BUDGET_PER_TENANT_DAY');
    await (await call('globex', 0)).settle(0, day);
    const tomorrow = new Date('2026-11-23T00:00:01Z');
    await (await call('acme', 0, tomorrow)).settle(0, tomorrow);
  });
  it('reserves tenant tokens for calls in flight: calls that fit run at once, one that does not waits for room, and one alone may cross the budget', async () => {
    const budget = new TokenBudget(new CacheSpendLedger(new MemoryCache()), { perTenantDay: 1000 }, new MemoryCache());
    const now = () => new Date('2026-11-22T10:00:00Z');
    const at = (estimate: number, ttlMs = 5_000) => budget.reserve({ tenant: 'acme', taskTokens: 0, estimate, now, ttlMs });
    const fit = await Promise.all([at(300), at(300), at(300)]);
    let late = false;
    const waiting = at(300).then((h) => ((late = true), h));
    await new Promise((r) => setTimeout(r, 200));
    expect(late, '900 reserved + 300 > 1000: it waits').to.equal(false);
    await fit[0].settle(50, now());
    const fourth = await waiting;
    for (const h of [...fit.slice(1), fourth]) await h.settle(300, now());
    expect(await budget.tenantUsedToday('acme', now())).to.equal(950);
    // Nothing else in flight: a call larger than the rest is admitted (it may cross the budget); after it, calls fail.
    const alone = await at(5_000);
    await alone.settle(400, now());
    expect(await budget.reserve({ tenant: 'acme', taskTokens: 0, estimate: 1, now, ttlMs: 100 }).catch((e) => e.code)).to.equal('LLM_BUDGET_EXCEEDED');
    // A holder that died never settles: its reservation expires and frees the room.
    const other = new TokenBudget(new CacheSpendLedger(new MemoryCache()), { perTenantDay: 1000 }, new MemoryCache());
    await other.reserve({ tenant: 'x', taskTokens: 0, estimate: 900, now, ttlMs: 150 });
    await (await other.reserve({ tenant: 'x', taskTokens: 0, estimate: 900, now, ttlMs: 2_000 })).settle(0, now());
  });
});
