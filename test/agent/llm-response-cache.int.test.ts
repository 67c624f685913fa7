/**
 * The LLM response cache as configured: LLM_CACHE_TTL_MS, and no answer kept under
 * LLM_REDACTION=hash-only unless the operator sets a lifetime (createAgentRuntime from
 * configuration, the real `openai` client against openai-fake; the in-memory cache and Redis).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { catalog } from '../../events';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { loadConfig } from '../../src/config';
import type { EventStore } from '../../src/eventstore/port';
import { createAgentRuntime } from '../../src/agent/create-agent-runtime';
import { responseCacheKey } from '../../src/agent/llm/infer';
import type { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { useRedisTestCache } from '../support/redis-test-cache';
import { ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

const ANSWER = 'the answer is mike-secret';
type Turn = { promptHash: string; cached: boolean };

describe('LLM response cache: LLM_CACHE_TTL_MS, and no answer kept under LLM_REDACTION=hash-only (createAgentRuntime from configuration)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;
  let warnings: string[];

  useStoreAndFake('omc-llm-cache-', (s) => ({ dir, store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  }, () => ({ content: ANSWER }));

  /** The same instruction twice (so the same prompt), by a runtime built from `env` over `cache`: each task's turn, and how many times the model was asked. */
  async function runTwice(env: Record<string, string>, cache: Cache): Promise<{ turns: Turn[]; asked: number }> {
    warnings = [];
    const config = loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'm', ...env });
    const logger = { warn: (_obj: unknown, msg?: string) => void warnings.push(String(msg)) };
    ({ runtime } = await createAgentRuntime({ config, store, catalog, tools: { callTool: async () => ({ content: [] }) }, cache, logger }));
    await runtime.start();
    const n = fake.requests.length;
    const turns: Turn[] = [];
    for (let i = 0; i < 2; i++) {
      const id = await submitTask(store, 'acme', { instruction: 'say the answer' });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
      turns.push(ofType(events, 'InferenceCompleted')[0].data as Turn);
    }
    expect(turns[0].promptHash).to.equal(turns[1].promptHash);
    return { turns, asked: fake.requests.length - n };
  }

  const keyOf = (t: Turn) => responseCacheKey('acme', 'm', t.promptHash);

  describe('in memory (the embedded default)', () => {
    it("MCP_PAYLOAD_POLICY=encrypted, LLM_REDACTION=hash-only with LLM_CACHE_TTL_MS set: said at start that an erasure reaches this process's memory only when made through it (in Redis, not said)", async () => {
      const env = { MCP_PAYLOAD_POLICY: 'encrypted', LLM_REDACTION: 'hash-only', LLM_CACHE_TTL_MS: '60000' };
      const said = async (cache: Cache) => {
        const lines: string[] = [];
        const config = loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'm', ...env });
        const logger = { warn: (_obj: unknown, msg?: string) => void lines.push(String(msg)) };
        await createAgentRuntime({ config, store, catalog, tools: { callTool: async () => ({ content: [] }) }, cache, logger });
        return lines.join('\n');
      };
      expect(await said(new MemoryCache())).to.match(/LLM_CACHE_TTL_MS=60000.*in this process's memory \(no REDIS_URL\).*only when made through this process: with more than one process, set REDIS_URL/);
      const redisNamed = new Proxy(new MemoryCache(), { get: (t, p) => (p === 'name' ? 'redis' : Reflect.get(t, p, t)) });
      expect(await said(redisNamed)).to.match(/LLM_CACHE_TTL_MS=60000/).and.not.match(/REDIS_URL/);
    });

    it('by default (LLM_REDACTION=store) keeps the answer: the same prompt is answered from the cache', async () => {
      const cache = new MemoryCache();
      const { turns, asked } = await runTwice({}, cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, true]);
      expect(asked).to.equal(1);
      expect(await cache.get(keyOf(turns[0]))).to.contain(ANSWER);
    });

    it('LLM_CACHE_TTL_MS=0: nothing is cached, every prompt goes to the model', async () => {
      const cache = new MemoryCache();
      const { turns, asked } = await runTwice({ LLM_CACHE_TTL_MS: '0' }, cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, false]);
      expect(asked).to.equal(2);
      expect(await cache.get(keyOf(turns[0]))).to.equal(undefined);
    });

    it('LLM_REDACTION=hash-only: the answer is not kept in the cache (it is off unless LLM_CACHE_TTL_MS is set)', async () => {
      const cache = new MemoryCache();
      const { turns, asked } = await runTwice({ LLM_REDACTION: 'hash-only' }, cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, false]);
      expect(asked).to.equal(2);
      expect(await cache.get(keyOf(turns[0]))).to.equal(undefined);
      expect(warnings.join('\n')).to.not.contain('LLM_CACHE_TTL_MS');
    });
  });

  describe('in Redis (REDIS_URL)', () => {
    const r = useRedisTestCache('omc_llm_cache', async () => {
      await runtime?.stop();
      runtime = undefined;
    });
    it('LLM_REDACTION=hash-only: no key holds the answer, and there is no response entry', async () => {
      const { turns, asked } = await runTwice({ LLM_REDACTION: 'hash-only' }, r.cache);
      expect(asked).to.equal(2);
      const all = await r.everything();
      expect(Object.keys(all).filter((k) => k.includes('llm:response:'))).to.deep.equal([]);
      expect(JSON.stringify(all)).to.not.contain('mike-secret');
      expect(await r.redis.exists(r.prefix + keyOf(turns[0]))).to.equal(0);
    });

    it('LLM_CACHE_TTL_MS=0: nothing is cached', async () => {
      const { turns, asked } = await runTwice({ LLM_CACHE_TTL_MS: '0' }, r.cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, false]);
      expect(asked).to.equal(2);
      expect(JSON.stringify(await r.everything())).to.not.contain('mike-secret');
    });

    it('LLM_CACHE_TTL_MS sets how long an answer is kept (Redis PTTL)', async () => {
      const { turns } = await runTwice({ LLM_CACHE_TTL_MS: '60000' }, r.cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, true]);
      const ttl = await r.redis.pttl(r.prefix + keyOf(turns[0]));
      expect(ttl).to.be.within(1, 60_000);
    });

    it('LLM_REDACTION=hash-only with LLM_CACHE_TTL_MS set: the operator chose to keep answers that long; said at start', async () => {
      const { turns } = await runTwice({ LLM_REDACTION: 'hash-only', LLM_CACHE_TTL_MS: '60000' }, r.cache);
      expect(turns.map((t) => t.cached)).to.deep.equal([false, true]);
      expect(await r.redis.get(r.prefix + keyOf(turns[0]))).to.contain('mike-secret');
      expect(await r.redis.pttl(r.prefix + keyOf(turns[0]))).to.be.within(1, 60_000);
      expect(warnings.join('\n')).to.match(/LLM_REDACTION=hash-only.*LLM_CACHE_TTL_MS=60000/);
    });
  });
});
