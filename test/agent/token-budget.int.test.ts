/**
 * The tenant's daily token budget under concurrency: tasks running at once (in one worker, and in
 * two workers sharing Redis and the SQL ledger) against the openai-fake. Each call is checked and
 * reserved before it goes to the provider, so together they pass the budget by at most the one
 * call that crosses it. (Before: every task passed the check at once and all were paid for.)
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { Cache } from '../../src/cache/port';
import { openRedisCache } from '../../src/cache/redis';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { TokenBudget } from '../../src/agent/llm/token-budget';
import { SqlSpendLedger, utcDay } from '../../src/agent/policy/spend-ledger';
import { parsePolicy } from '../../src/agent/policy';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { FlakyCache } from '../support/flaky-cache';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, waitForTask } from './support/agent-fixture';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const BUDGET = 100;
const PER_CALL = 60;

describe('LLM token budget per tenant and day, under concurrency (openai-fake)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let knex: Knex;
  let ledger: SqlSpendLedger;
  const runtimes: AgentRuntime[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-budget-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
    knex = await openKnex(`sqlite:${join(dir, 'ledger.db')}`);
    await migrateLatest(knex);
    ledger = new SqlSpendLedger(knex);
    // Every call takes a while and costs PER_CALL tokens: the calls of tasks started together overlap.
    fake = await startOpenAiFake(() => ({ content: 'done', delayMs: 300, usage: { prompt_tokens: PER_CALL, completion_tokens: 0 } }));
  });
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop();
  });
  after(async () => {
    await fake?.close();
    await store?.close();
    await knex?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(worker: string, cache: Cache): AgentRuntime {
    const deps = {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [] }) },
      llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
      cache,
      ledger,
      tokenBudget: new TokenBudget(ledger, { perTenantDay: BUDGET }, cache),
      policy: parsePolicy({ policies: [{ tenant: '*' }] }),
      privateKey: KEY,
    };
    const r = new AgentRuntime(deps, { model: 'm', worker, concurrency: 4, stepTimeoutMs: 5_000, temperature: 0.7 }, new MemoryCheckpointStore());
    runtimes.push(r);
    return r;
  }

  async function runTasks(tenant: string, n: number): Promise<RecordedEvent[][]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await submitTask(store, tenant, { instruction: `say done #${i}` }));
    await Promise.all(runtimes.map((r) => r.start()));
    return Promise.all(ids.map((id) => waitForTask(store, id, ended, 30_000)));
  }

  function tokensOf(runs: RecordedEvent[][]): number {
    return runs.flatMap((es) => ofType(es, 'InferenceCompleted')).reduce((n, e) => n + (e.data as { usage: { totalTokens: number } }).usage.totalTokens, 0);
  }

  async function expectWithinBudget(tenant: string, runs: RecordedEvent[][]): Promise<void> {
    const used = tokensOf(runs);
    expect(used, `${used} tokens used: at most the budget and the one call that crosses it`).to.be.at.most(BUDGET + PER_CALL);
    expect(Number(await ledger.spent(tenant, '*', 'llm-tokens', utcDay(new Date())))).to.equal(used);
    const failed = runs.map((es) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string } } | undefined)?.error.code).filter(Boolean);
    expect(failed).to.have.length(runs.length - used / PER_CALL);
    expect(new Set(failed)).to.deep.equal(new Set(['LLM_BUDGET_EXCEEDED']));
  }

  it('tasks running at once in one worker do not together pass the budget', async () => {
    start('w-1', new MemoryCache());
    await expectWithinBudget('t-one', await runTasks('t-one', 4));
  });

  it('freeing a reservation fails (the cache blips after the call was booked): the turn is still recorded and the task completes', async () => {
    /** The budget lock's second taking (settle frees the reservation under it) fails once. */
    class SecondLockFails extends FlakyCache {
      taken = 0;
      override async acquireLock(key: string, owner: string, ttlMs: number) {
        if (/^llm:budget:/.test(key) && ++this.taken === 2) this.fail('acquireLock', /^llm:budget:/);
        return super.acquireLock(key, owner, ttlMs);
      }
    }
    const cache = new SecondLockFails(new MemoryCache());
    start('w-f', cache);
    const [events] = await runTasks('t-free', 1);
    expect(cache.failed, 'the cache failed').to.have.length(1);
    expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data)), 'not failed').to.deep.equal([]);
    expect(ofType(events, 'InferenceCompleted')).to.have.length(1);
    expect(Number(await ledger.spent('t-free', '*', 'llm-tokens', utcDay(new Date()))), 'booked').to.equal(PER_CALL);
  });

  it('tasks running at once in two workers sharing Redis do not together pass the budget', async function () {
    await requireService(this, 'Redis', redisAvailable);
    const p = redisTestPrefix('omc_budget');
    const caches = [await openRedisCache(REDIS_TEST_URL, p.prefix), await openRedisCache(REDIS_TEST_URL, p.prefix)];
    try {
      start('w-a', caches[0]);
      start('w-b', caches[1]);
      await expectWithinBudget('t-two', await runTasks('t-two', 6));
    } finally {
      for (const r of runtimes.splice(0)) await r.stop();
      for (const c of caches) await c.close();
      await p.drop();
    }
  });
});
