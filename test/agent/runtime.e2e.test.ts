import { expect } from 'chai';
import { recoverAddress } from 'ethers';
import { catalog } from '../../events';
import { verifyEventHash, type RecordedEvent } from '../../src/core/envelope';
import { hashCanonical } from '../../src/core/hash';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider, taskStream } from '../../src/domain/task/task.decider';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { KnowledgeBase } from '../../src/agent/knowledge/knowledge-base';
import { parsePolicy } from '../../src/agent/policy';
import { assertTaskRunnable } from '../../src/agent/runtime/assert-task-runnable';
import { verifyOutputSignature } from '../../src/agent/runtime/output-signature';
import type { AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import { NonceManager } from '../../src/web3/nonce-manager';
import type { ChainRegistry } from '../../src/web3/chain-registry';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import {
  AGENT_WALLET,
  MemoryCache,
  MemoryCheckpointStore,
  ended,
  knowledgeDir,
  ofType,
  openStore,
  startChainFixture,
  submitTask,
  user,
  waitForTask,
  type ChainFixture,
} from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const RECIPIENT = '0x000000000000000000000000000000000000beef';

/**
 * The model, scripted by conversation state (so a resumed run sees the same behaviour):
 * read the agent's balance, then transfer the amount the instruction names, then answer.
 */
function treasurer(chainId: number) {
  return (req: ChatRequest): FakeReply => {
    const instruction = String(req.messages.find((m) => m.role === 'user')?.content ?? '');
    const m = instruction.match(/send (\d+) DEMO to (0x[0-9a-fA-F]{40})/i);
    const results = req.messages.filter((x) => x.role === 'tool');
    if (!m) return { content: 'I only move DEMO.' };
    if (results.length === 0) return { toolCalls: [{ name: 'chain__read_contract', arguments: { chainId, contract: 'DemoToken', method: 'balanceOf', args: [AGENT_WALLET] } }] };
    if (results.length === 1) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [m[2], m[1]] } }] };
    return { content: `Transferred ${m[1]} DEMO. Receipt: ${results[1].content}` };
  };
}

describe('agent runtime (acceptance): openai-fake + Hardhat + MCP gateway', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let fake: OpenAiFake;
  let store: EventStore;
  let gateway: McpGateway;
  let chains: ChainRegistry;
  let deps: AgentRuntimeDependencies;
  let checkpoints: MemoryCheckpointStore;
  let runtime: AgentRuntime;
  let approvals: ApprovalsService;

  before(async () => {
    fx = await startChainFixture();
    fake = await startOpenAiFake(treasurer(fx.chain.chainId));
    store = await openStore(fx.dir);
    gateway = new McpGateway({ store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    await gateway.ensureServer(examplesServer());
    chains = await fx.registry();
    const policy = parsePolicy({
      policies: [
        {
          tenant: 'acme',
          tools: { allow: ['examples__*', 'chain__*'] },
          contracts: [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: { amountArg: 1, maxAmount: '1000', approvalAbove: '100' } } }],
        },
      ],
    });
    const cache = new MemoryCache();
    deps = {
      store,
      catalog,
      tools: gateway,
      llm: new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'sk-test', model: 'fake-model' }),
      cache,
      knowledge: KnowledgeBase.fromDirectory(knowledgeDir(fx.dir)),
      chains,
      nonces: new NonceManager(),
      policy,
      privateKey: RUNTIME_KEY,
    };
    checkpoints = new MemoryCheckpointStore();
    runtime = new AgentRuntime(deps, { model: 'fake-model', stepTimeoutMs: 20_000, worker: 'worker-1', leaseMs: 1_500 }, checkpoints);
    await runtime.start();
    approvals = new ApprovalsService({ store, catalog });
  });

  after(async () => {
    await runtime?.stop();
    await gateway?.close();
    chains?.close();
    await fake?.close();
    await store?.close();
    await fx?.close();
  });

  it('runs explicit steps through the gateway and signs the output (no LLM needed)', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] });
    const events = await waitForTask(store, id, ended);
    const done = ofType(events, 'TaskCompleted')[0];
    expect(done, events.map((e) => e.type).join()).to.exist;
    const d = done.data as { output: { steps: { text: string }[] }; outputHash: string; signer: string; signature: string };
    expect(d.output.steps[0].text).to.contain('hi');
    expect(d.outputHash).to.equal(hashCanonical(d.output));
    expect(recoverAddress(d.outputHash, d.signature).toLowerCase()).to.equal(d.signer);
    expect(verifyOutputSignature(d)).to.equal(true);
    const calls = (await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);
    expect(calls).to.have.length(1);
    expect(ofType(events, 'TaskStepStarted')).to.have.length(1);
    expect(ofType(events, 'TaskStepCompleted')).to.have.length(1);
  });

  it('reads a contract, proposes a transfer, holds it for approval, refuses a tampered approval, then mines it once approved and completes', async () => {
    const before = await fx.balanceOf(RECIPIENT);
    const id = await submitTask(store, 'acme', { instruction: `Send 500 DEMO to ${RECIPIENT} following the transfer rules` });
    let events = await waitForTask(store, id, (es) => ofType(es, 'ApprovalRequested').length > 0 || ended(es));
    const req = ofType(events, 'ApprovalRequested')[0];
    expect(req, events.map((e) => e.type).join()).to.exist;
    const { proposalHash, proposalJson } = req.data as { proposalHash: string; proposalJson: string };
    const proposal = JSON.parse(proposalJson);
    expect(proposal).to.include({ chainId: fx.chain.chainId, to: fx.token, method: 'transfer', value: '0' });
    expect(proposal.args).to.deep.equal([RECIPIENT, '500']);
    expect(hashCanonical(proposal)).to.equal(proposalHash);
    const policyEvents = ofType(events, 'PolicyEvaluated').map((e) => e.data as { decision: string; rule: string; subject: string });
    expect(policyEvents).to.deep.include({ ...policyEvents.find((p) => p.subject === 'transaction'), decision: 'require_approval', rule: 'method.approvalAbove' });
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);

    // A tampered approval (another hash) is refused with a 4xx code, and changes nothing.
    const tampered = `0x${(BigInt(proposalHash) ^ 1n).toString(16).padStart(64, '0')}`;
    const err = await approvals.decide({ tenant: 'acme', actor: user, taskId: id, proposalHash: tampered, decision: 'approve' }).then(
      () => undefined,
      (e: unknown) => e as { code: string; status: number },
    );
    expect(err).to.include({ code: 'APPROVAL_PROPOSAL_MISMATCH', status: 409 });
    // Another tenant cannot approve it.
    const foreign = await approvals.decide({ tenant: 'globex', actor: user, taskId: id, proposalHash, decision: 'approve' }).catch((e) => e);
    expect(foreign.code).to.equal('NOT_FOUND');

    await approvals.decide({ tenant: 'acme', actor: user, taskId: id, proposalHash, decision: 'approve' });
    events = await waitForTask(store, id, ended);
    const done = ofType(events, 'TaskCompleted')[0];
    expect(done, JSON.stringify(ofType(events, 'TaskFailed')[0]?.data)).to.exist;
    expect(await fx.balanceOf(RECIPIENT)).to.equal(before + 500n);

    const sub = ofType(events, 'TransactionSubmitted')[0].data as { txHash: string; proposalHash: string; from: string };
    const conf = ofType(events, 'TransactionConfirmed')[0].data as { txHash: string; status: string };
    expect(sub.proposalHash).to.equal(proposalHash);
    expect(sub.from).to.equal(AGENT_WALLET);
    expect(conf).to.include({ txHash: sub.txHash, status: 'success' });
    const d = done.data as { output: { answer: string }; outputHash: string; signer: string; signature: string };
    expect(d.output.answer).to.contain('Transferred 500 DEMO');
    expect(verifyOutputSignature(d)).to.equal(true);

    // Evidence: three model turns, with the knowledge chunk used, all in the task stream, hashes valid.
    const inf = ofType(events, 'InferenceCompleted').map((e) => e.data as { turn: number; knowledgeChunks: string[]; usage: { totalTokens: number }; messagesJson?: string; provider: string });
    expect(inf.map((x) => x.turn)).to.deep.equal([0, 1, 2]);
    expect(inf[0].knowledgeChunks[0]).to.match(/^treasury\.md#/);
    expect(inf[0].messagesJson).to.contain('need a human approval');
    expect(inf[0].usage.totalTokens).to.be.greaterThan(0);
    expect(fake.authorizations.every((a) => a === 'Bearer sk-test')).to.equal(true);
    for (const e of events) {
      expect(verifyEventHash(e)).to.equal(true);
      catalog.validate(e.type, e.version, e.data);
    }
  });

  it('denies the same task over the limit, naming the rule, and sends nothing', async () => {
    const nonce = await fx.nonceOf(AGENT_WALLET);
    const id = await submitTask(store, 'acme', { instruction: `Send 5000 DEMO to ${RECIPIENT} following the transfer rules` });
    const events = await waitForTask(store, id, ended);
    const failed = ofType(events, 'TaskFailed')[0];
    expect(failed, events.map((e) => e.type).join()).to.exist;
    const error = (failed.data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('POLICY_DENIED');
    expect(error.message).to.contain('method.maxAmount');
    const denial = ofType(events, 'PolicyEvaluated').map((e) => e.data as { decision: string; rule: string }).find((p) => p.decision === 'deny');
    expect(denial).to.include({ rule: 'method.maxAmount' });
    expect(ofType(events, 'ApprovalRequested')).to.have.length(0);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    expect(await fx.nonceOf(AGENT_WALLET)).to.equal(nonce);
  });

  it('resumes a task after the runtime is killed mid-transaction without repeating a tool call, a model turn or the transaction', async () => {
    const beforeBalance = await fx.balanceOf(RECIPIENT);
    const nonce = await fx.nonceOf(AGENT_WALLET);
    await fx.rpc('evm_setAutomine', [false]);
    let id = '';
    try {
      id = await submitTask(store, 'acme', {
        steps: [{ tool: 'examples__echo', arguments: { text: 'audit me' } }],
        instruction: `Send 50 DEMO to ${RECIPIENT} following the transfer rules`,
      });
      await waitForTask(store, id, (es) => ofType(es, 'TransactionSubmitted').length > 0 || ended(es));
      await runtime.kill();
    } finally {
      await fx.rpc('evm_setAutomine', [true]);
    }
    const requestsBefore = fake.requests.length;
    // The pending transaction gets mined while no runtime runs.
    await fx.rpc('evm_mine');
    runtime = new AgentRuntime(deps, { model: 'fake-model', stepTimeoutMs: 20_000, worker: 'worker-2', leaseMs: 1_500 }, checkpoints);
    await runtime.start();
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskCompleted'), JSON.stringify(ofType(events, 'TaskFailed')[0]?.data)).to.have.length(1);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(ofType(events, 'TransactionConfirmed')).to.have.length(1);
    expect(await fx.nonceOf(AGENT_WALLET)).to.equal(nonce + 1);
    expect(await fx.balanceOf(RECIPIENT)).to.equal(beforeBalance + 50n);
    const turns = ofType(events, 'InferenceCompleted').map((e) => (e.data as { turn: number }).turn);
    expect(turns).to.deep.equal([0, 1, 2]);
    // Only the last turn was asked after the restart.
    expect(fake.requests.length - requestsBefore).to.equal(1);
    const calls = (await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);
    expect(calls).to.have.length(1);
    const started = ofType(events, 'TaskStepStarted').map((e) => (e.data as { stepId: string }).stepId);
    expect(new Set(started).size).to.equal(started.length);
    expect(ofType(events, 'TaskStarted')).to.have.length(1);
  });

  it('stops a task waiting for approval when it is cancelled', async () => {
    const id = await submitTask(store, 'acme', { instruction: `Send 200 DEMO to ${RECIPIENT} following the transfer rules` });
    await waitForTask(store, id, (es) => ofType(es, 'ApprovalRequested').length > 0 || ended(es));
    await handleCommand({ store, catalog }, { decider: taskDecider, stream: taskStream(id), command: { type: 'CancelTask', reason: 'changed my mind' }, metadata: { tenant: 'acme', actor: user } });
    await runtime.settled(id);
    const events: RecordedEvent[] = await store.readStream(taskStream(id));
    expect(events[events.length - 1].type).to.equal('TaskCancelled');
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    const late = await approvals.decide({ tenant: 'acme', actor: user, taskId: id, proposalHash: (ofType(events, 'ApprovalRequested')[0].data as { proposalHash: string }).proposalHash, decision: 'approve' }).catch((e) => e);
    expect(late.code).to.equal('APPROVAL_NOT_PENDING');
  });

  it('tasks waiting for an approval hold no AGENT_CONCURRENCY slot: other tasks run meanwhile', async () => {
    // As many transfers held for a human as the worker runs tasks at once: every slot was taken by
    // a wait (up to AGENT_TASK_TIMEOUT_MS, an hour by default) and no other task of any tenant ran.
    const waiting = await Promise.all(Array.from({ length: runtime.options.concurrency }, () => submitTask(store, 'acme', { instruction: `Send 300 DEMO to ${RECIPIENT} following the transfer rules` })));
    for (const id of waiting) await waitForTask(store, id, (es) => ofType(es, 'ApprovalRequested').length > 0 || ended(es));
    const echo = await submitTask(store, 'acme', { steps: [{ tool: 'examples__echo', arguments: { text: 'meanwhile' } }] });
    const events = await waitForTask(store, echo, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    // Still waiting, and still released by an approval.
    const first = await store.readStream(taskStream(waiting[0]));
    expect(ended(first)).to.equal(false);
    await approvals.decide({ tenant: 'acme', actor: user, taskId: waiting[0], proposalHash: (ofType(first, 'ApprovalRequested')[0].data as { proposalHash: string }).proposalHash, decision: 'approve' });
    expect(ofType(await waitForTask(store, waiting[0], ended), 'TaskCompleted')).to.have.length(1);
    for (const id of waiting.slice(1)) {
      await handleCommand({ store, catalog }, { decider: taskDecider, stream: taskStream(id), command: { type: 'CancelTask' }, metadata: { tenant: 'acme', actor: user } });
      await runtime.settled(id);
    }
  });

  it('fails natural-language tasks without an LLM, naming OPENAI_BASE_URL; explicit steps still run', async () => {
    expect(() => assertTaskRunnable({}, { instruction: 'hello' })).to.throw(/OPENAI_BASE_URL/);
    expect(() => assertTaskRunnable({}, { steps: [{}] })).to.not.throw();
    const noLlm = new AgentRuntime({ ...deps, llm: undefined }, { worker: 'no-llm' }, new MemoryCheckpointStore());
    await runtime.stop();
    await noLlm.start();
    try {
      const a = await submitTask(store, 'acme', { instruction: 'say hello' });
      const b = await submitTask(store, 'acme', { steps: [{ tool: 'examples__echo', arguments: { text: 'x' } }] });
      const ea = await waitForTask(store, a, ended);
      expect((ofType(ea, 'TaskFailed')[0].data as { error: { code: string; message: string } }).error).to.include({ code: 'LLM_NOT_CONFIGURED' });
      expect((ofType(ea, 'TaskFailed')[0].data as { error: { message: string } }).error.message).to.contain('OPENAI_BASE_URL');
      const eb = await waitForTask(store, b, ended);
      expect(ofType(eb, 'TaskCompleted')).to.have.length(1);
    } finally {
      await noLlm.stop();
    }
  });
});
