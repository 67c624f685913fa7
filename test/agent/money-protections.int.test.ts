/**
 * What protects a team's money when its agents send transactions, against a real local Hardhat
 * chain, the real SqlSpendLedger (SQLite) and the openai-fake: an approval is for one
 * transaction; daily caps hold under approvals, concurrency, the UTC day boundary and any
 * agentId; a transaction sent but not seen mined ends the task instead of being retried.
 * (Found by a review on 2026-12-05; each case failed before its fix.)
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { WrongExpectedRevisionError } from '../../src/core/errors';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeOptions, AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import { ApprovalsService } from '../../src/agent/approvals-service';
import type { ToolCaller, ToolInfo } from '../../src/agent/runtime/tool-caller';
import { taskStream } from '../../src/domain/task/task.decider';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy, SqlSpendLedger, utcDay } from '../../src/agent/policy';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import type { Provider } from 'ethers';
import { NonceManager, type NonceLock } from '../../src/web3/nonce-manager';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';
import { startLossyProxy } from '../support/lossy-rpc-proxy';
import { FlakyCache } from '../support/flaky-cache';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { AGENT_WALLET, AGENT_WALLET_KEY, MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, user, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tool caller with one slow tool: the task's deadline passes while it runs. `returned` settles once a call has returned. */
class SlowTools implements ToolCaller {
  tools: ToolInfo[] = [{ name: 'slow__wait', description: 'waits', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  private markReturned!: () => void;
  readonly returned = new Promise<void>((r) => (this.markReturned = r));
  async callTool() {
    await sleep(1_200);
    this.markReturned();
    return { content: [{ type: 'text' as const, text: 'waited' }] };
  }
  listTools() {
    return this.tools;
  }
}

describe('agent runtime: money protections (Hardhat, SqlSpendLedger)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let fake: OpenAiFake;
  let chains: ChainRegistry;
  let knex: Knex;
  let ledger: SqlSpendLedger;
  const opened: { runtime: AgentRuntime; store: EventStore }[] = [];

  before(async () => {
    fx = await startChainFixture();
    fake = await startOpenAiFake([]);
    chains = await fx.registry();
    knex = await openKnex(`sqlite:${join(fx.dir, 'ledger.db')}`);
    await migrateLatest(knex);
    ledger = new SqlSpendLedger(knex);
  });

  after(async () => {
    for (const o of opened) {
      await o.runtime.stop().catch(() => {});
      await o.store.close().catch(() => {});
    }
    chains?.close();
    await fake?.close();
    await knex?.destroy();
    await fx?.close();
  });

  async function start(policyDoc: unknown, opts: Partial<AgentRuntimeOptions> = {}, extra: Partial<AgentRuntimeDependencies> = {}) {
    const store = await openStore(fx.dir);
    const deps: AgentRuntimeDependencies = {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [{ type: 'text', text: 'no gateway' }], isError: true }) },
      llm: new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'sk-test', model: 'fake-model', maxRetries: 0 }),
      cache: new MemoryCache(),
      chains,
      nonces: new NonceManager(),
      policy: parsePolicy(policyDoc),
      ledger,
      privateKey: RUNTIME_KEY,
      ...extra,
    };
    const runtime = new AgentRuntime(deps, { model: 'fake-model', stepTimeoutMs: 20_000, worker: `w-${opened.length}`, leaseMs: 1_500, ...opts }, new MemoryCheckpointStore());
    await runtime.start();
    opened.push({ runtime, store });
    return { store: deps.store, runtime, approvals: new ApprovalsService({ store: deps.store, catalog }) };
  }

  const tokenPolicy = (tenant: string, rule: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    policies: [{ tenant, contracts: [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: { amountArg: 1, ...rule } } }], ...extra }],
  });
  const transferStep = (to: string, amount: string, gasLimit?: string) => ({
    tool: 'chain__send_transaction',
    arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [to, amount], ...(gasLimit ? { gasLimit } : {}) },
  });
  const meter = () => `method:${fx.chain.chainId}:${fx.token.toLowerCase()}:transfer`;

  const hashOf = (e: RecordedEvent) => (e.data as { proposalHash: string }).proposalHash;
  const lastType = (es: RecordedEvent[]) => es[es.length - 1].type;
  const errorOf = (es: RecordedEvent[]) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;

  it('an approval is for one transaction: identical transfers of one task each wait for their own', async () => {
    const { store, approvals } = await start(tokenPolicy('m1', { maxAmount: '1000', approvalAbove: '100' }));
    const R = addr(0xa1);
    const before = await fx.balanceOf(R);
    const id = await submitTask(store, 'm1', { steps: [transferStep(R, '500', '100000'), transferStep(R, '500', '100000'), transferStep(R, '500', '100000')] });
    const decided: string[] = [];
    for (const decision of ['approve', 'approve', 'reject'] as const) {
      const es = await waitForTask(store, id, (x) => ofType(x, 'ApprovalRequested').length > decided.length || ended(x));
      expect(ended(es), 'the next transfer waits for its approval').to.equal(false);
      const hash = hashOf(ofType(es, 'ApprovalRequested')[decided.length]);
      expect(decided, 'a hash of its own').to.not.include(hash);
      decided.push(hash);
      await approvals.decide({ tenant: 'm1', actor: user, taskId: id, proposalHash: hash, decision });
    }
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(2);
    expect(errorOf(events)?.code).to.equal('APPROVAL_REJECTED');
    expect((await fx.balanceOf(R)) - before).to.equal(1000n);
  });

  it('a transaction held for approval is not sent once a restart brings a policy that denies the tool (it was: a resumed step skipped the tool rules)', async () => {
    const rule = { maxAmount: '1000', approvalAbove: '10' };
    const a = await start(tokenPolicy('m31', rule));
    const R = addr(0xa9);
    const before = await fx.balanceOf(R);
    const id = await submitTask(a.store, 'm31', { steps: [transferStep(R, '50')] });
    const held = await waitForTask(a.store, id, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    await a.runtime.stop();
    // The operator's emergency stop: the same contract rules, but the tool is denied.
    const b = await start(tokenPolicy('m31', rule, { tools: { deny: ['chain__send_transaction'] } }), {}, { store: a.store });
    await b.approvals.decide({ tenant: 'm31', actor: user, taskId: id, proposalHash: hashOf(ofType(held, 'ApprovalRequested')[0]), decision: 'approve' });
    const events = await waitForTask(a.store, id, ended);
    expect(ofType(events, 'TransactionSubmitted'), 'nothing signed').to.have.length(0);
    expect(errorOf(events)).to.include({ code: 'POLICY_DENIED' });
    expect(ofType(events, 'PolicyEvaluated').map((e) => (e.data as { rule: string }).rule)).to.include('tools.deny');
    expect((await fx.balanceOf(R)) - before).to.equal(0n);
  });

  it('a transaction held for approval is not sent once its contract has no code (a local chain restarted empty meanwhile): CONTRACT_CALL_FAILED', async () => {
    // The check at preparation came before the wait: a transfer approved after the chain lost the
    // contract was mined as a plain call to an empty account, "success", no token moved.
    const { store, approvals } = await start(tokenPolicy('m32', { maxAmount: '1000', approvalAbove: '10' }));
    const R = addr(0xaa);
    const id = await submitTask(store, 'm32', { steps: [transferStep(R, '50')] });
    const held = await waitForTask(store, id, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    const code = (await fx.rpc('eth_getCode', [fx.token, 'latest'])) as string;
    await fx.rpc('hardhat_setCode', [fx.token, '0x']);
    try {
      await approvals.decide({ tenant: 'm32', actor: user, taskId: id, proposalHash: hashOf(ofType(held, 'ApprovalRequested')[0]), decision: 'approve' });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TransactionSubmitted'), 'nothing signed').to.have.length(0);
      expect(errorOf(events)?.code).to.equal('CONTRACT_CALL_FAILED');
      expect(errorOf(events)?.message).to.match(/has no contract code on chain \d+: deploy it there/);
    } finally {
      await fx.rpc('hardhat_setCode', [fx.token, code]);
    }
  });

  it('the daily cap is checked again when sending: of two approved tasks of 600 under a cap of 1000, one is sent', async () => {
    const { store, approvals } = await start(tokenPolicy('m2', { maxAmount: '1000', dailyCap: '1000', approvalAbove: '100' }));
    const R = addr(0xa2);
    const before = await fx.balanceOf(R);
    const ids = [await submitTask(store, 'm2', { steps: [transferStep(R, '600')] }), await submitTask(store, 'm2', { steps: [transferStep(R, '600')] })];
    for (const id of ids) {
      const es = await waitForTask(store, id, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
      await approvals.decide({ tenant: 'm2', actor: user, taskId: id, proposalHash: hashOf(ofType(es, 'ApprovalRequested')[0]), decision: 'approve' });
    }
    const outcomes = [];
    for (const id of ids) outcomes.push(await waitForTask(store, id, ended));
    expect(outcomes.map(lastType).sort()).to.deep.equal(['TaskCompleted', 'TaskFailed']);
    expect(errorOf(outcomes.find((es) => lastType(es) === 'TaskFailed')!)?.message).to.match(/dailyCap|daily cap/);
    expect((await fx.balanceOf(R)) - before).to.equal(600n);
    expect(await ledger.spent('m2', '*', meter(), utcDay(new Date()))).to.equal(600n);
  });

  it('concurrent tasks cannot together pass the daily cap', async () => {
    const { store } = await start(tokenPolicy('m3', { maxAmount: '1000', dailyCap: '1000' }), { concurrency: 8 });
    const R = addr(0xb2);
    const before = await fx.balanceOf(R);
    const ids = await Promise.all(Array.from({ length: 5 }, () => submitTask(store, 'm3', { steps: [transferStep(R, '600')] })));
    const outcomes: string[] = [];
    for (const id of ids) outcomes.push(lastType(await waitForTask(store, id, ended)));
    expect(outcomes.filter((o) => o === 'TaskCompleted')).to.have.length(1);
    expect((await fx.balanceOf(R)) - before).to.equal(600n);
  });

  it("a cap of an entry for every agent ('*') is the tenant's, whatever agentId a task names", async () => {
    const { store } = await start(tokenPolicy('m4', { maxAmount: '1000', dailyCap: '1000' }));
    const R = addr(0xa3);
    const before = await fx.balanceOf(R);
    const outcomes: string[] = [];
    for (const agentId of ['a1', 'a2', 'a3']) outcomes.push(lastType(await waitForTask(store, await submitTask(store, 'm4', { agentId, steps: [transferStep(R, '1000')] }), ended)));
    expect(outcomes).to.deep.equal(['TaskCompleted', 'TaskFailed', 'TaskFailed']);
    expect((await fx.balanceOf(R)) - before).to.equal(1000n);
  });

  it('a transfer approved after midnight UTC counts on the day it is sent', async () => {
    let now = Date.parse('2030-01-01T23:59:50.000Z');
    const { store, approvals } = await start(tokenPolicy('m5', { maxAmount: '1000', dailyCap: '1000', approvalAbove: '100' }), {}, { clock: () => new Date(now) });
    const R = addr(0xc2);
    const a = await submitTask(store, 'm5', { steps: [transferStep(R, '900')] });
    const es = await waitForTask(store, a, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    now = Date.parse('2030-01-02T00:00:10.000Z');
    await approvals.decide({ tenant: 'm5', actor: user, taskId: a, proposalHash: hashOf(ofType(es, 'ApprovalRequested')[0]), decision: 'approve' });
    expect(lastType(await waitForTask(store, a, ended))).to.equal('TaskCompleted');
    expect(await ledger.spent('m5', '*', meter(), '2030-01-01')).to.equal(0n);
    expect(await ledger.spent('m5', '*', meter(), '2030-01-02')).to.equal(900n);
    const b = await submitTask(store, 'm5', { steps: [transferStep(R, '200', '100000')] });
    const eb = await waitForTask(store, b, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    if (!ended(eb)) await approvals.decide({ tenant: 'm5', actor: user, taskId: b, proposalHash: hashOf(ofType(eb, 'ApprovalRequested')[0]), decision: 'approve' });
    expect(errorOf(await waitForTask(store, b, ended))?.message, '900 + 200 > 1000 on the day both are sent').to.match(/daily cap/);
  });

  it('a transaction sent but not seen mined in time ends the task (TX_PENDING): the model does not send it again', async () => {
    const chainId = fx.chain.chainId;
    const R = addr(0xb5);
    fake.setScript((req: ChatRequest): FakeReply => {
      const results = req.messages.filter((m) => m.role === 'tool');
      if (results.length < 2) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [R, '30'] } }] };
      return { content: 'gave up' };
    });
    const { store } = await start(tokenPolicy('m6', { maxAmount: '1000' }), { stepTimeoutMs: 1_500 });
    const before = await fx.balanceOf(R);
    await fx.rpc('evm_setAutomine', [false]);
    let events: RecordedEvent[];
    try {
      events = await waitForTask(store, await submitTask(store, 'm6', { instruction: `pay 30 DEMO to ${R}` }), ended);
    } finally {
      await fx.rpc('evm_setAutomine', [true]);
    }
    await fx.rpc('evm_mine');
    expect(errorOf(events)?.code).to.equal('TX_PENDING');
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect((await fx.balanceOf(R)) - before).to.equal(30n);
  });

  it('a task past AGENT_TASK_TIMEOUT_MS stops: after its TaskFailed nothing is recorded and nothing is sent', async () => {
    const tools = new SlowTools();
    const { store } = await start(tokenPolicy('m7', { maxAmount: '1000' }), { taskTimeoutMs: 500 }, { tools });
    const R = addr(0xa4);
    const before = await fx.balanceOf(R);
    const id = await submitTask(store, 'm7', { steps: [{ tool: 'slow__wait', arguments: {} }, transferStep(R, '77')] });
    expect(errorOf(await waitForTask(store, id, ended))?.code).to.equal('TASK_TIMEOUT');
    // The slow tool returns after the timeout; before, its run then went on to the transfer: give it the time to.
    await tools.returned;
    await sleep(1_000);
    const events = await store.readStream(taskStream(id));
    expect(events[events.length - 1].type, 'TaskFailed is the last event').to.equal('TaskFailed');
    expect((await fx.balanceOf(R)) - before).to.equal(0n);
  });

  it('a task that timed out waiting for an approval stops polling and renewing its lease', async () => {
    const { store } = await start(tokenPolicy('m8', { maxAmount: '1000', approvalAbove: '100' }), { taskTimeoutMs: 800, leaseMs: 1_000 });
    const id = await submitTask(store, 'm8', { steps: [transferStep(addr(0xb4), '500')] });
    await waitForTask(store, id, ended);
    await sleep(2_500);
    const events = await store.readStream(taskStream(id));
    expect(events[events.length - 1].type).to.equal('TaskFailed');
  });

  it('a transaction the node dropped does not jam the wallet: after one failed attempt, transfers go through again', async () => {
    const R = addr(0xd6);
    const { store } = await start(tokenPolicy('m9', { maxAmount: '1000' }), { stepTimeoutMs: 1_500 });
    const before = await fx.balanceOf(R);
    await fx.rpc('evm_setAutomine', [false]);
    try {
      const a = await submitTask(store, 'm9', { steps: [transferStep(R, '1')] });
      const es = await waitForTask(store, a, (x) => ofType(x, 'TransactionSubmitted').length > 0);
      await sleep(200);
      await fx.rpc('hardhat_dropTransaction', [(ofType(es, 'TransactionSubmitted')[0].data as { txHash: string }).txHash]);
      expect(errorOf(await waitForTask(store, a, ended))?.code).to.equal('TX_PENDING');
    } finally {
      await fx.rpc('evm_setAutomine', [true]);
    }
    const outcomes: string[] = [];
    for (const amount of ['2', '3', '4']) outcomes.push(lastType(await waitForTask(store, await submitTask(store, 'm9', { steps: [transferStep(R, amount)] }), ended)));
    // Before: every later transfer reused the dropped one's next nonce and failed until a restart.
    expect(outcomes.slice(1)).to.deep.equal(['TaskCompleted', 'TaskCompleted']);
    expect((await fx.balanceOf(R)) - before).to.be.oneOf([7n, 9n]);
  });

  it('a transfer the node refused (never sent) is not charged: it does not eat the daily cap', async () => {
    const { store } = await start(tokenPolicy('m10', { maxAmount: '1000', dailyCap: '100' }));
    const R = addr(0xe1);
    const before = await fx.balanceOf(R);
    const balance = await fx.rpc('eth_getBalance', [AGENT_WALLET, 'latest']);
    await fx.rpc('hardhat_setBalance', [AGENT_WALLET, '0x0']); // the node refuses: no funds for gas
    let refused: RecordedEvent[];
    try {
      refused = await waitForTask(store, await submitTask(store, 'm10', { steps: [transferStep(R, '60', '100000')] }), ended);
    } finally {
      await fx.rpc('hardhat_setBalance', [AGENT_WALLET, balance]);
    }
    expect(errorOf(refused)?.code).to.equal('TX_REJECTED');
    expect(ofType(refused, 'TransactionRejected'), 'the refusal is evidence').to.have.length(1);
    expect(await ledger.spent('m10', '*', meter(), utcDay(new Date()))).to.equal(0n);
    const sent = await waitForTask(store, await submitTask(store, 'm10', { steps: [transferStep(R, '60', '100000')] }), ended);
    expect(lastType(sent), 'before: 60 refused + 60 > cap 100').to.equal('TaskCompleted');
    expect(await ledger.spent('m10', '*', meter(), utcDay(new Date()))).to.equal(60n);
    expect((await fx.balanceOf(R)) - before).to.equal(60n);
  });

  /** The model pays, and pays again while the tool reports an error (as a model would). */
  const payScript = (R: string, amount: string) => (req: ChatRequest): FakeReply => {
    const last = req.messages[req.messages.length - 1];
    if (last.role === 'tool' && !String(last.content).startsWith('error')) return { content: 'paid' };
    if (req.messages.filter((m) => m.role === 'tool').length >= 2) return { content: 'gave up' };
    return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [R, amount] } }] };
  };

  const blips: [string, (c: FlakyCache) => void][] = [
    ['the next-nonce write', (c) => c.fail('set', /^web3:nonce-next:/)],
    ['the nonce lock and spend lock releases', (c) => (c.fail('releaseLock', /^web3:nonce-lock:/), c.fail('releaseLock', /^agent:spend-lock:/))],
  ];
  blips.forEach(([what, arm], n) => it(`a cache error once the transaction is recorded (${what}) does not fail the step: the transaction is confirmed and not sent again`, async () => {
    const R = addr(0xf0 + n);
    const tenant = `m2${n}`;
    const cache = new FlakyCache(new MemoryCache());
    arm(cache);
    fake.setScript(payScript(R, '25'));
    const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }), {}, { cache, nonces: new NonceManager(cache, { waitMs: 2_000 }) });
    const before = await fx.balanceOf(R);
    const events = await waitForTask(store, await submitTask(store, tenant, { instruction: `pay 25 DEMO to ${R}` }), ended, 60_000);
    expect(cache.failed, 'the cache failed').to.not.be.empty;
    expect(ofType(events, 'TaskStepFailed').map((e) => JSON.stringify(e.data)), 'no failed step').to.deep.equal([]);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(ofType(events, 'TransactionConfirmed')).to.have.length(1);
    expect(lastType(events)).to.equal('TaskCompleted');
    expect((await fx.balanceOf(R)) - before, 'paid once').to.equal(25n);
    expect(await ledger.spent(tenant, '*', meter(), utcDay(new Date()))).to.equal(25n);
  }));

  it('any error after the transaction is recorded (not a certain refusal) awaits it: never a step failure the model retries', async () => {
    const R = addr(0xf8);
    /** Sends, then fails as a cache command after the broadcast could (the transaction is out). */
    class FailsAfterSend extends NonceManager {
      override async withNonce<T>(provider: Provider, chainId: number, from: string, fn: (nonce: number, lock: NonceLock) => Promise<T>): Promise<T> {
        await super.withNonce(provider, chainId, from, fn);
        throw new Error('connection lost after the broadcast');
      }
    }
    fake.setScript(payScript(R, '35'));
    const { store } = await start(tokenPolicy('m28', { maxAmount: '1000' }), {}, { nonces: new FailsAfterSend() });
    const before = await fx.balanceOf(R);
    const events = await waitForTask(store, await submitTask(store, 'm28', { instruction: `pay 35 DEMO to ${R}` }), ended, 60_000);
    expect(ofType(events, 'TaskStepFailed').map((e) => JSON.stringify(e.data)), 'no failed step').to.deep.equal([]);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(lastType(events)).to.equal('TaskCompleted');
    expect((await fx.balanceOf(R)) - before, 'paid once').to.equal(35n);
  });

  it('booking the spend fails: the signed transaction is not recorded nor sent, nothing stays charged, the retry pays once', async () => {
    const R = addr(0xf9);
    const tenant = 'm29';
    let failures = 0;
    /** The ledger's database fails its first addition (once signed, before it is recorded and broadcast). */
    const flaky = Object.assign(Object.create(ledger) as typeof ledger, {
      add: async (...a: Parameters<typeof ledger.add>) => {
        if (failures++ === 0) throw new Error('database connection lost (test)');
        return ledger.add(...a);
      },
    });
    fake.setScript(payScript(R, '45'));
    const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }), {}, { ledger: flaky });
    const before = await fx.balanceOf(R);
    const events = await waitForTask(store, await submitTask(store, tenant, { instruction: `pay 45 DEMO to ${R}` }), ended, 60_000);
    expect(ofType(events, 'TransactionSubmitted'), 'only the retry is recorded').to.have.length(1);
    expect(ofType(events, 'TransactionRejected')).to.have.length(0);
    const failed = ofType(events, 'TaskStepFailed').map((e) => (e.data as { error: { message: string } }).error.message);
    expect(failed).to.have.length(1);
    expect(failed[0]).to.match(/database connection lost/);
    expect(lastType(events)).to.equal('TaskCompleted');
    expect((await fx.balanceOf(R)) - before, 'paid once').to.equal(45n);
    expect(await ledger.spent(tenant, '*', meter(), utcDay(new Date())), 'charged once').to.equal(45n);
  });

  it('recording a booked transaction certainly fails (a conflict every time): nothing is sent and its charge is taken back', async () => {
    const R = addr(0xfb);
    const tenant = 'm30';
    let failures = 0;
    const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }), {}, {});
    const inner = store.append.bind(store);
    /** A conflict on the first TransactionSubmitted every time (another writer keeps moving the stream): never written. */
    store.append = async (...a: Parameters<typeof inner>) => {
      if (a[1].some((e) => e.type === 'TransactionSubmitted') && failures++ < 20) throw new WrongExpectedRevisionError(a[0], 'test', 'moved');
      return inner(...a);
    };
    const events = await waitForTask(store, await submitTask(store, tenant, { steps: [transferStep(R, '55')] }), ended, 60_000);
    expect(failures, 'the record was refused').to.be.greaterThan(0);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    expect(await ledger.spent(tenant, '*', meter(), utcDay(new Date())), 'taken back').to.equal(0n);
  });

  for (const [mode, n] of [['drop', 2], ['internal-error', 3]] as const) it(`a broadcast whose answer was lost (${mode}: maybe sent) stays charged and is not sent again by the model`, async () => {
    const chainId = fx.chain.chainId;
    const R = addr(0xe0 + n);
    const tenant = `m1${n}`;
    // A proxy that forwards eth_sendRawTransaction to the node, then loses the answer.
    const proxy = await startLossyProxy(fx.chain.rpcUrl, mode);
    const lossy = await ChainRegistry.open(
      parseChains({ chains: [{ chainId, rpcUrl: proxy.url, wallet: { type: 'key', privateKey: AGENT_WALLET_KEY }, contracts: [{ name: 'DemoToken', address: fx.token, abi: fx.tokenAbi }] }] }, fx.dir),
    );
    try {
      fake.setScript((req: ChatRequest): FakeReply => {
        const last = req.messages[req.messages.length - 1];
        if (last.role === 'tool' && !String(last.content).startsWith('error')) return { content: 'paid' };
        if (req.messages.filter((m) => m.role === 'tool').length >= 2) return { content: 'gave up' };
        return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [R, '40'] } }] };
      });
      const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }), { stepTimeoutMs: 5_000 }, { chains: lossy });
      const before = await fx.balanceOf(R);
      const events = await waitForTask(store, await submitTask(store, tenant, { instruction: `pay 40 DEMO to ${R}` }), ended);
      expect(proxy.dropped, 'the proxy dropped a broadcast').to.be.greaterThan(0);
      expect((await fx.balanceOf(R)) - before, 'paid once, not twice').to.equal(40n);
      expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
      expect(await ledger.spent(tenant, '*', meter(), utcDay(new Date()))).to.equal(40n);
    } finally {
      lossy.close();
      await proxy.close();
    }
  });

  it('a refusal whose clean-up fails (taking the charge back) is still never sent: not awaited, not broadcast again', async () => {
    const R = addr(0xfa);
    const tenant = 'rv1';
    const balance = await fx.rpc('eth_getBalance', [AGENT_WALLET, 'latest']);
    let releases = 0;
    const flaky = Object.assign(Object.create(ledger) as typeof ledger, {
      release: async () => {
        releases++;
        // the refusal was transient (funds arrive / base fee falls) and the ledger's DB blips
        await fx.rpc('hardhat_setBalance', [AGENT_WALLET, balance]);
        throw new Error('database connection lost (test)');
      },
    });
    const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }), {}, { ledger: flaky });
    const before = await fx.balanceOf(R);
    await fx.rpc('hardhat_setBalance', [AGENT_WALLET, '0x0']);
    let events: RecordedEvent[];
    try {
      events = await waitForTask(store, await submitTask(store, tenant, { steps: [transferStep(R, '60', '100000')] }), ended, 60_000);
    } finally {
      await fx.rpc('hardhat_setBalance', [AGENT_WALLET, balance]);
    }
    expect(releases, 'the clean-up was tried').to.be.greaterThan(0);
    expect(ofType(events, 'TransactionRejected')).to.have.length(1);
    expect(ofType(events, 'TransactionConfirmed')).to.have.length(0);
    expect(errorOf(events)?.code).to.equal('TX_REJECTED');
    expect((await fx.balanceOf(R)) - before, 'recorded as never sent, so nothing may be paid').to.equal(0n);
  });

  it('recording the receipt fails once (the store blips): not a step failure the model retries; the resumed step records it, paid once', async () => {
    const R = addr(0xfc);
    const tenant = 'm31';
    let failures = 0;
    fake.setScript(payScript(R, '65'));
    const { store } = await start(tokenPolicy(tenant, { maxAmount: '1000', dailyCap: '1000' }));
    const inner = store.append.bind(store);
    /** The database fails the first TransactionConfirmed (the transaction is mined) and is back for the next append. */
    store.append = async (...a: Parameters<typeof inner>) => {
      if (a[1].some((e) => e.type === 'TransactionConfirmed') && failures++ === 0) throw new Error('database connection lost (test)');
      return inner(...a);
    };
    const before = await fx.balanceOf(R);
    const events = await waitForTask(store, await submitTask(store, tenant, { instruction: `pay 65 DEMO to ${R}` }), ended, 60_000);
    expect(failures, 'the record failed once').to.be.greaterThan(0);
    expect((await fx.balanceOf(R)) - before, 'paid once').to.equal(65n);
    expect(ofType(events, 'TaskStepFailed').map((e) => JSON.stringify(e.data)), 'no failed step').to.deep.equal([]);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(ofType(events, 'TransactionConfirmed')).to.have.length(1);
    expect(lastType(events)).to.equal('TaskCompleted');
  });
});
