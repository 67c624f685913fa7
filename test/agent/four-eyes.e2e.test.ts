import { expect } from 'chai';
import { catalog } from '../../events';
import type { Actor } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import { NonceManager } from '../../src/web3/nonce-manager';
import type { ChainRegistry } from '../../src/web3/chain-registry';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, user, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const RECIPIENT = '0x000000000000000000000000000000000000cafe';
const BOB: Actor = { kind: 'user', id: 'bob' };
const CAROL: Actor = { kind: 'user', id: 'carol' };

/** The model sends the transfer the instruction names, then answers. */
function sender(chainId: number) {
  return (req: ChatRequest): FakeReply => {
    const m = String(req.messages.find((x) => x.role === 'user')?.content ?? '').match(/send (\d+) DEMO to (0x[0-9a-fA-F]{40})/i);
    const results = req.messages.filter((x) => x.role === 'tool');
    if (!m) return { content: 'I only move DEMO.' };
    if (results.length === 0) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [m[2], m[1]] } }] };
    return { content: `Done: ${results[0].content}` };
  };
}

/**
 * Four-eyes approval end to end: a policy asking for 2 distinct approvers, not the task's
 * submitter (`user` = alice submits), the real runtime on Hardhat, approvals through ApprovalsService.
 */
describe('agent runtime: four-eyes approval (policy approvals: 2, selfApproval: false; openai-fake + Hardhat)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let fake: OpenAiFake;
  let store: EventStore;
  let gateway: McpGateway;
  let chains: ChainRegistry;
  let runtime: AgentRuntime;
  let approvals: ApprovalsService;

  before(async () => {
    fx = await startChainFixture();
    fake = await startOpenAiFake(sender(fx.chain.chainId));
    store = await openStore(fx.dir);
    gateway = new McpGateway({ store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    await gateway.ensureServer(examplesServer());
    chains = await fx.registry();
    const policy = parsePolicy({
      policies: [
        {
          tenant: 'acme',
          tools: { allow: ['chain__*'] },
          approvals: 2,
          selfApproval: false,
          contracts: [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: { amountArg: 1, maxAmount: '1000', approvalAbove: '100' } } }],
        },
      ],
    });
    runtime = new AgentRuntime(
      { store, catalog, tools: gateway, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, apiKey: 'sk-test', model: 'm' }), cache: new MemoryCache(), chains, nonces: new NonceManager(), policy, privateKey: RUNTIME_KEY },
      { model: 'm', stepTimeoutMs: 20_000, worker: 'worker-4e' },
      new MemoryCheckpointStore(),
    );
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

  async function held(amount: number): Promise<{ id: string; proposalHash: string }> {
    const id = await submitTask(store, 'acme', { instruction: `Send ${amount} DEMO to ${RECIPIENT}` });
    const events = await waitForTask(store, id, (es) => ofType(es, 'ApprovalRequested').length > 0 || ended(es));
    const [req] = ofType(events, 'ApprovalRequested');
    expect(req, events.map((e) => e.type).join()).to.exist;
    expect(req.version).to.equal(2);
    expect((req.data as { approvals: unknown }).approvals).to.deep.equal({ required: 2, selfApproval: false, requestedBy: user });
    const policy = ofType(events, 'PolicyEvaluated').map((e) => e.data as { decision: string; reason: string }).find((d) => d.decision === 'require_approval');
    expect(policy?.reason).to.contain("2 distinct approvers, not the task's submitter");
    return { id, proposalHash: (req.data as { proposalHash: string }).proposalHash };
  }

  const decide = (id: string, proposalHash: string, actor: Actor, decision: 'approve' | 'reject' = 'approve') =>
    approvals.decide({ tenant: 'acme', actor, taskId: id, proposalHash, decision }).catch((e: { code: string; status: number }) => e);

  it('the submitter cannot approve; one approver (twice) does not release it; a second one does, and the transfer is sent once', async () => {
    const before = await fx.balanceOf(RECIPIENT);
    const { id, proposalHash } = await held(500);
    expect(await decide(id, proposalHash, user)).to.include({ code: 'APPROVAL_SELF_NOT_ALLOWED', status: 403 });
    expect(await decide(id, proposalHash, BOB)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    expect(await decide(id, proposalHash, BOB)).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
    // Still held: the runtime polls every second; give it two chances to (wrongly) go on.
    await new Promise((r) => setTimeout(r, 2_500));
    let events = await store.readStream(`task-${id}`);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    expect(ofType(events, 'ApprovalGiven')).to.have.length(1);
    expect(ended(events)).to.equal(false);

    expect(await decide(id, proposalHash, CAROL)).to.deep.include({ status: 'approved', approvals: { given: 2, required: 2 } });
    events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskCompleted'), JSON.stringify(ofType(events, 'TaskFailed')[0]?.data)).to.have.length(1);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(await fx.balanceOf(RECIPIENT)).to.equal(before + 500n);
    expect(ofType(events, 'ApprovalGiven').map((e) => [(e.data as { approver: Actor }).approver.id, e.actor.id])).to.deep.equal([['bob', 'bob'], ['carol', 'carol']]);
  });

  it('a rejection by any approver, after another approved, fails the task APPROVAL_REJECTED and sends nothing', async () => {
    const { id, proposalHash } = await held(300);
    expect(await decide(id, proposalHash, BOB)).to.deep.include({ status: 'pending' });
    expect(await decide(id, proposalHash, CAROL, 'reject')).to.deep.include({ status: 'rejected' });
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('APPROVAL_REJECTED');
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    expect(await decide(id, proposalHash, { kind: 'user', id: 'dave' })).to.include({ code: 'APPROVAL_ALREADY_DECIDED' });
  });
});
