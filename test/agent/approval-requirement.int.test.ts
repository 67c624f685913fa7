/**
 * A proposal held for approval under one policy, and the policy changed (POLICY_FILE, read at
 * start: a restart) before it is released: the number of approvers it needs is the current
 * policy's when an approval would release it. Against a real local Hardhat chain, the embedded
 * SQLite event store and ledger, the real runtime and ApprovalsService. (Each case failed before
 * the fix: one approval still released a proposal after `approvals` was raised to 2.)
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import type { Actor, RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { parsePolicy, SqlSpendLedger } from '../../src/agent/policy';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import { NonceManager } from '../../src/web3/nonce-manager';
import type { ChainRegistry } from '../../src/web3/chain-registry';
import { tasksProjection, type TaskDoc } from '../../projections/tasks.projection';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, user, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const BOB: Actor = { kind: 'user', id: 'bob' };
const CAROL: Actor = { kind: 'user', id: 'carol' };
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent runtime: a changed `approvals` reaches proposals already waiting (Hardhat, SQLite)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let chains: ChainRegistry;
  let knex: Knex;
  let store: EventStore;
  let approvals: ApprovalsService;
  const runtimes: AgentRuntime[] = [];

  before(async () => {
    fx = await startChainFixture();
    chains = await fx.registry();
    knex = await openKnex(`sqlite:${join(fx.dir, 'ledger.db')}`);
    await migrateLatest(knex);
    store = await openStore(fx.dir);
    approvals = new ApprovalsService({ store, catalog });
  });

  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => {});
    chains?.close();
    await store?.close();
    await knex?.destroy();
    await fx?.close();
  });

  /** A runtime (a process, as far as the task can tell) started with this policy; the previous one is stopped first, as by a restart. */
  async function restartWith(tenant: string, entry: Record<string, unknown>): Promise<AgentRuntime> {
    if (runtimes.length) await runtimes[runtimes.length - 1].stop();
    const policy = parsePolicy({
      policies: [{ tenant, ...entry, contracts: [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: { amountArg: 1, maxAmount: '1000', approvalAbove: '10' } } }] }],
    });
    const deps: AgentRuntimeDependencies = {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [{ type: 'text', text: 'no gateway' }], isError: true }) },
      cache: new MemoryCache(),
      chains,
      nonces: new NonceManager(),
      policy,
      ledger: new SqlSpendLedger(knex),
      privateKey: RUNTIME_KEY,
    };
    const runtime = new AgentRuntime(deps, { model: 'none', stepTimeoutMs: 20_000, worker: `w-${runtimes.length}`, leaseMs: 1_500 }, new MemoryCheckpointStore());
    runtimes.push(runtime);
    await runtime.start();
    return runtime;
  }

  const transfer = (to: string, amount: string) => ({ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [to, amount] } });
  const hashOf = (e: RecordedEvent) => (e.data as { proposalHash: string }).proposalHash;
  const decide = (tenant: string, id: string, proposalHash: string, actor: Actor, decision: 'approve' | 'reject' = 'approve') => approvals.decide({ tenant, actor, taskId: id, proposalHash, decision });
  /** What the tasks read model makes of the stream (GET /v1/tasks/:id awaitingApproval): the proposals asked for and still waiting. */
  const waiting = (es: RecordedEvent[]) => {
    let doc: TaskDoc | undefined;
    for (const e of es) if (tasksProjection.canHandle(e)) doc = tasksProjection.evolve(doc, e);
    return (doc?.approvals ?? []).filter((a) => a.status === 'pending' && a.requestedAt).map((a) => ({ proposalHash: a.proposalHash, rule: a.rule, approvals: a.approvals }));
  };
  const changes = (es: RecordedEvent[]) => ofType(es, 'ApprovalRequirementChanged').map((e) => e.data as Record<string, unknown>);

  async function held(tenant: string, to: string): Promise<{ id: string; hash: string }> {
    const id = await submitTask(store, tenant, { steps: [transfer(to, '50')] });
    const es = await waitForTask(store, id, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    expect(ended(es), es.map((e) => e.type).join()).to.equal(false);
    return { id, hash: hashOf(ofType(es, 'ApprovalRequested')[0]) };
  }

  /** Give the runtime (which polls every second) two chances to (wrongly) send it. */
  async function stillHeld(id: string, to: string, before: bigint): Promise<RecordedEvent[]> {
    await sleep(2_500);
    const es = await store.readStream(`task-${id}`);
    expect(ofType(es, 'TransactionSubmitted'), 'nothing sent').to.have.length(0);
    expect(ended(es), 'still open').to.equal(false);
    expect(await fx.balanceOf(to)).to.equal(before);
    return es;
  }

  async function sentOnce(id: string, to: string, before: bigint): Promise<RecordedEvent[]> {
    const es = await waitForTask(store, id, ended);
    expect(ofType(es, 'TaskCompleted'), JSON.stringify(ofType(es, 'TaskFailed')[0]?.data)).to.have.length(1);
    expect(ofType(es, 'TransactionSubmitted')).to.have.length(1);
    expect(await fx.balanceOf(to)).to.equal(before + 50n);
    return es;
  }

  it('held under approvals 1, restarted under approvals 2: the change is recorded, one approval leaves it waiting, the second sends it', async () => {
    const R = addr(0xb1);
    const before = await fx.balanceOf(R);
    await restartWith('q1', { approvals: 1 });
    const { id, hash } = await held('q1', R);
    await restartWith('q1', { approvals: 2 });
    const es = await waitForTask(store, id, (x) => changes(x).length > 0 || ended(x), 10_000);
    expect(changes(es)).to.deep.equal([
      { stepId: 'step-0', proposalHash: hash, approvals: { required: 2, selfApproval: true, requestedBy: user }, previous: { required: 1, selfApproval: true }, approvers: [], reopened: false, rule: 'method.approvalAbove', policy: 'q1/*' },
    ]);
    expect(await decide('q1', id, hash, BOB)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    expect(waiting(await stillHeld(id, R, before))).to.deep.equal([{ proposalHash: hash, rule: 'method.approvalAbove', approvals: { required: 2, given: 1, selfApproval: true } }]);
    expect(await decide('q1', id, hash, CAROL)).to.deep.include({ status: 'approved', approvals: { given: 2, required: 2 } });
    const done = await sentOnce(id, R, before);
    expect(waiting(done)).to.deep.equal([]);
    expect(ofType(done, 'ApprovalGiven').map((e) => (e.data as { approver: Actor }).approver.id)).to.deep.equal(['bob', 'carol']);
  });

  it('approved once while no runtime ran (under the recorded 1), restarted under approvals 2: that release no longer stands; a second approver sends it', async () => {
    const R = addr(0xb2);
    const before = await fx.balanceOf(R);
    await restartWith('q2', { approvals: 1 });
    const { id, hash } = await held('q2', R);
    await runtimes[runtimes.length - 1].stop();
    // Decided by the requirement the log holds: one approver.
    expect(await decide('q2', id, hash, BOB)).to.deep.include({ status: 'approved' });
    await restartWith('q2', { approvals: 2 });
    const es = await stillHeld(id, R, before);
    expect(changes(es)).to.deep.equal([
      { stepId: 'step-0', proposalHash: hash, approvals: { required: 2, selfApproval: true, requestedBy: user }, previous: { required: 1, selfApproval: true }, approvers: [BOB], reopened: true, rule: 'method.approvalAbove', policy: 'q2/*' },
    ]);
    expect(waiting(es), 'the release reopened waits again').to.deep.equal([{ proposalHash: hash, rule: 'method.approvalAbove', approvals: { required: 2, given: 1, selfApproval: true } }]);
    // Bob's approval stands and counts once.
    expect(await decide('q2', id, hash, BOB)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    expect(await decide('q2', id, hash, CAROL)).to.deep.include({ status: 'approved', approvals: { given: 2, required: 2 } });
    await sentOnce(id, R, before);
  });

  it('approved while no runtime ran, restarted under an edited entry that still holds it: the decision is recorded again with the new policyHash before it is sent', async () => {
    const R = addr(0xb5);
    const before = await fx.balanceOf(R);
    await restartWith('q5', {});
    const { id, hash } = await held('q5', R);
    await runtimes[runtimes.length - 1].stop();
    expect(await decide('q5', id, hash, BOB)).to.deep.include({ status: 'approved' });
    // Another version of the entry (a gas cap added): the transfer is still held by method.approvalAbove, and approved.
    await restartWith('q5', { maxGasLimit: '900000' });
    const es = await sentOnce(id, R, before);
    const decisions = ofType(es, 'PolicyEvaluated').filter((e) => (e.data as { subject: string }).subject === 'transaction');
    const versions = decisions.map((e) => (e.data as { policyHash?: string }).policyHash);
    expect(new Set(versions).size, 'decided under both versions').to.equal(2);
    const sentAt = es.findIndex((e) => e.type === 'TransactionSubmitted');
    const last = decisions.filter((e) => es.indexOf(e) < sentAt).pop()!;
    expect(last.data).to.include({ decision: 'require_approval', rule: 'method.approvalAbove', proposalHash: hash });
    expect((last.data as { policyHash: string }).policyHash).to.equal(versions[versions.length - 1]).and.not.equal(versions[0]);
  });

  it('held under approvals 2 with one approval, restarted under approvals 1: recorded, not sent until the next approval', async () => {
    const R = addr(0xb3);
    const before = await fx.balanceOf(R);
    await restartWith('q3', { approvals: 2 });
    const { id, hash } = await held('q3', R);
    expect(await decide('q3', id, hash, BOB)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    await restartWith('q3', { approvals: 1 });
    const es = await stillHeld(id, R, before);
    expect(changes(es)).to.deep.equal([
      { stepId: 'step-0', proposalHash: hash, approvals: { required: 1, selfApproval: true, requestedBy: user }, previous: { required: 2, selfApproval: true }, approvers: [BOB], reopened: false, rule: 'method.approvalAbove', policy: 'q3/*' },
    ]);
    // The approver who already approved confirms: the lowered requirement is met, it is released.
    expect(await decide('q3', id, hash, BOB)).to.deep.include({ status: 'approved' });
    await sentOnce(id, R, before);
  });

  it('restarted under selfApproval false: an approval the submitter gave under the old policy no longer counts', async () => {
    const R = addr(0xb4);
    const before = await fx.balanceOf(R);
    await restartWith('q4', { approvals: 2 });
    const { id, hash } = await held('q4', R);
    await runtimes[runtimes.length - 1].stop();
    expect(await decide('q4', id, hash, user)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    expect(await decide('q4', id, hash, BOB)).to.deep.include({ status: 'approved' });
    await restartWith('q4', { approvals: 2, selfApproval: false });
    const es = await stillHeld(id, R, before);
    expect(changes(es)[0]).to.deep.include({ approvers: [BOB], reopened: true, approvals: { required: 2, selfApproval: false, requestedBy: user } });
    expect(await decide('q4', id, hash, user).catch((e: { code: string }) => e)).to.include({ code: 'APPROVAL_SELF_NOT_ALLOWED' });
    expect(await decide('q4', id, hash, CAROL)).to.deep.include({ status: 'approved' });
    await sentOnce(id, R, before);
  });
});
