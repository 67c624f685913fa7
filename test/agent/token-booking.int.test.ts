/**
 * A model turn's tokens booked in the tenant's daily ledger exactly once, and the turn paid for
 * once, when the ledger is unreachable at the booking (DEPENDENCY_UNAVAILABLE): the turn is
 * recorded first (InferenceCompleted v6, `usageUnbooked`), the run stops, and the resumed run
 * books it, keyed by the event's id, instead of asking the model again. (Before: the turn was not
 * recorded, and the resumed run asked the model again: paid twice and booked once, or with the
 * LLM response cache booked not at all.)
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import { UnavailableError } from '../../src/core/errors';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { TokenBudget } from '../../src/agent/llm/token-budget';
import { SqlSpendLedger, utcDay, type SpendLedger } from '../../src/agent/policy/spend-ledger';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolInfo } from '../../src/agent/runtime/tool-caller';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { cutProxy } from '../support/cut-proxy';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, useStoreAndFake, user, waitForTask } from './support/agent-fixture';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider, taskStream } from '../../src/domain/task/task.decider';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const PER_CALL = 60;
const METER = 'llm-tokens';

/** What SqlSpendLedger throws for a database it cannot reach a moment. */
const outage = () => new UnavailableError('spend ledger (mysql)', 'add: ECONNREFUSED');

/**
 * The ledger, but the first `times` additions for `tenant` fail with an outage (`error`): before
 * booking (`committed: false`, the database was down) or after (`committed: true`: the row was
 * written, the answer lost). `adds` counts every addition asked for `tenant`. Other tenants' pass
 * through uncounted: a new runtime replays the suite's earlier tasks, and books their turns again
 * (keyed: nothing more) where one was recorded unbooked.
 */
function flakyLedger(ledger: SpendLedger, tenant: string, committed: boolean, times = 1, error: () => Error = outage): SpendLedger & { adds: number } {
  let adds = 0;
  return {
    get adds() {
      return adds;
    },
    spent: (...a) => ledger.spent(...a),
    release: (...a) => ledger.release(...a),
    add: async (...a) => {
      if (a[0] !== tenant || adds++ >= times) return ledger.add(...a);
      if (committed) await ledger.add(...a);
      throw error();
    },
  };
}

describe('a model turn booked once when the spend ledger is unreachable at its booking (openai-fake)', function () {
  this.timeout(60_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let knex: Knex;
  let ledger: SqlSpendLedger;
  let dir: string;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-booking-', (s) => ({ store, fake, dir } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });
  before(async () => {
    knex = await openKnex(`sqlite:${join(dir, 'ledger.db')}`);
    await migrateLatest(knex);
    ledger = new SqlSpendLedger(knex);
  });
  after(async () => knex?.destroy());
  beforeEach(() => fake.setScript(() => ({ content: 'done', usage: { prompt_tokens: PER_CALL, completion_tokens: 0 } })));

  /** Tools the task's model was offered and called (by name). */
  let calls: string[] = [];
  async function run(tenant: string, l: SpendLedger, temperature: number, offered: ToolInfo[] = []): Promise<RecordedEvent[]> {
    const id = await start(tenant, l, temperature, offered);
    return waitForTask(store, id, ended, 30_000);
  }

  /** Submit a task to a new runtime over `l`; its id. */
  async function start(tenant: string, l: SpendLedger, temperature: number, offered: ToolInfo[] = []): Promise<string> {
    const cache = new MemoryCache();
    calls = [];
    const tools: ToolCaller = {
      callTool: async (_ctx, name) => (calls.push(name), { content: [{ type: 'text', text: 'a=1' }] }),
      searchTools: async () => offered.map((tool) => ({ tool, score: 1 })),
    };
    const deps = {
      store,
      catalog,
      tools,
      llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
      cache,
      ledger: l,
      tokenBudget: new TokenBudget(l, { perTenantDay: 1_000_000 }, cache),
      policy: parsePolicy({ policies: [{ tenant: '*' }] }),
      privateKey: KEY,
    };
    runtime = new AgentRuntime(deps, { model: 'm', worker: 'w-1', stepTimeoutMs: 5_000, temperature }, new MemoryCheckpointStore());
    const id = await submitTask(store, tenant, { instruction: `say done for ${tenant}` });
    await runtime.start();
    return id;
  }

  const booked = (tenant: string, l: SpendLedger = ledger) => l.spent(tenant, '*', METER, utcDay(new Date())).then(Number);

  for (const [what, committed, temperature] of [
    ['the database down (nothing written)', false, 0.7],
    ['the row written but the answer lost', true, 0.7],
    ['the database down, with the LLM response cache on (temperature 0)', false, 0],
  ] as const) {
    it(`${what}: the model is asked once, the turn recorded once, its tokens booked once, and the task completes`, async () => {
      const tenant = `t-${committed ? 'c' : 'd'}-${temperature}`;
      const before = fake.requests.length;
      const flaky = flakyLedger(ledger, tenant, committed);
      const events = await run(tenant, flaky, temperature);
      expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
      expect(ofType(events, 'TaskCompleted')).to.have.length(1);
      expect(fake.requests.length - before, 'the model asked once').to.equal(1);
      const turns = ofType(events, 'InferenceCompleted');
      expect(turns.map((e) => [e.version, (e.data as { cached: boolean }).cached, (e.data as { usageUnbooked?: true }).usageUnbooked]), 'recorded once, as not booked yet').to.deep.equal([[6, false, true]]);
      expect(await booked(tenant), 'booked once').to.equal(PER_CALL);
      expect(flaky.adds, 'the ledger failed once, then booked (a cached turn books nothing)').to.equal(2);
      expect(ofType(events, 'TaskLeased').length, 'a second run').to.be.at.least(2);
    });
  }

  it('the ledger still down when the run resumes, and failing with a bare error (a busy lock): each run stops again; a turn that asked for a tool has it called once; booked once', async () => {
    fake.setScript((req) => (req.messages.some((m) => m.role === 'tool') ? { content: 'done', usage: { prompt_tokens: PER_CALL, completion_tokens: 0 } } : { toolCalls: [{ id: 'c1', name: 'kv__get', arguments: { k: 'a' } }], usage: { prompt_tokens: PER_CALL, completion_tokens: 0 } }));
    const flaky = flakyLedger(ledger, 't-again', false, 3, () => new Error('spend ledger: lock agent:spend:t-again busy'));
    const before = fake.requests.length;
    const events = await run('t-again', flaky, 0.7, [{ name: 'kv__get', description: 'read a value by key (kv)', inputSchema: { type: 'object' } }]);
    expect(ofType(events, 'TaskFailed').map((e) => e.data)).to.deep.equal([]);
    expect(ofType(events, 'TaskCompleted')).to.have.length(1);
    expect(fake.requests.length - before, 'two turns, each asked once').to.equal(2);
    expect(calls, 'the tool called once').to.deep.equal(['kv__get']);
    expect(ofType(events, 'InferenceCompleted').map((e) => e.version)).to.deep.equal([6, 1]);
    expect(await booked('t-again'), 'each turn booked once').to.equal(2 * PER_CALL);
    expect(flaky.adds, 'three failures (the turn, then two resumed runs), then the first turn and the second').to.equal(5);
    expect(ofType(events, 'TaskLeased').length, 'three runs stopped, a fourth completed').to.be.at.least(4);
  });

  it('a task cancelled while its run waits to be tried again still has its unbooked turn booked, once', async () => {
    const tenant = 't-cancelled';
    const flaky = flakyLedger(ledger, tenant, false);
    const before = fake.requests.length;
    const id = await start(tenant, flaky, 0.7);
    await waitForTask(store, id, (events) => ofType(events, 'InferenceCompleted').length > 0, 20_000);
    // The run stopped on the booking; it is tried again 1 s later. Cancelled before that:
    await handleCommand({ store, catalog }, { decider: taskDecider, stream: taskStream(id), command: { type: 'CancelTask' }, metadata: { tenant, actor: user } });
    const deadline = Date.now() + 10_000;
    while ((await booked(tenant)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await booked(tenant), 'booked by the run tried again, though the task ended').to.equal(PER_CALL);
    expect(fake.requests.length - before, 'the model asked once').to.equal(1);
    const events = await store.readStream(taskStream(id));
    expect(events.map((e) => e.type).filter((t) => t === 'TaskCancelled' || t === 'TaskCompleted' || t === 'TaskFailed')).to.deep.equal(['TaskCancelled']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await booked(tenant), 'and only once').to.equal(PER_CALL);
  });

  it('a turn booked at once is recorded as before (v1, no usageUnbooked)', async () => {
    const events = await run('t-ok', ledger, 0.7);
    expect(ofType(events, 'InferenceCompleted').map((e) => [e.version, (e.data as { usageUnbooked?: true }).usageUnbooked])).to.deep.equal([[1, undefined]]);
    expect(await booked('t-ok')).to.equal(PER_CALL);
  });

  it('MariaDB unreachable a moment at the booking (the real adapter, its connection cut): booked once, asked once', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_booking');
    const url = new URL(db.url);
    const proxy = await cutProxy(url.hostname, Number(url.port || 3306));
    const direct = await openKnex(db.url);
    const cut = await openKnex(`mysql://${url.username}@127.0.0.1:${proxy.port}${url.pathname}`);
    try {
      await migrateLatest(direct);
      const real = new SqlSpendLedger(cut);
      let cuts = 1;
      const failures: unknown[] = [];
      const mysqlLedger: SpendLedger = {
        spent: (...a) => real.spent(...a),
        release: (...a) => real.release(...a),
        add: async (...a) => {
          // The suite's earlier tasks, replayed by this runtime, pass.
          if (a[0] !== 't-maria' || cuts-- <= 0) return real.add(...a);
          await proxy.down();
          try {
            return await real.add(...a);
          } catch (err) {
            failures.push(err);
            throw err;
          } finally {
            await proxy.up();
          }
        },
      };
      const before = fake.requests.length;
      const events = await run('t-maria', mysqlLedger, 0.7);
      expect(failures.map((e) => (e as { code?: string }).code), 'the booking met the outage').to.deep.equal(['DEPENDENCY_UNAVAILABLE']);
      expect(ofType(events, 'TaskCompleted')).to.have.length(1);
      expect(fake.requests.length - before, 'the model asked once').to.equal(1);
      expect(ofType(events, 'InferenceCompleted')).to.have.length(1);
      expect(await booked('t-maria', new SqlSpendLedger(direct)), 'booked once').to.equal(PER_CALL);
    } finally {
      await runtime?.stop();
      runtime = undefined;
      await cut.destroy();
      await direct.destroy();
      await proxy.close();
      await db.drop();
    }
  });
});
