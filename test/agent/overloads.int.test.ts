/**
 * Overloaded contract methods, against a real local Hardhat chain: the model names an overload
 * by its full signature; a bare name that is ambiguous is refused before any policy check; the
 * proposal (and its hash) binds the exact function that is signed; a cap cannot be dodged by
 * calling another overload. (Found by a review on 2026-12-05; each case failed before its fix.)
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, type Interface } from 'ethers';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { parsePolicy, proposalHash, type Proposal } from '../../src/agent/policy';
import { assertPolicyFitsChains } from '../../src/agent/policy/check-policy-abis';
import { hashCanonical } from '../../src/core/hash';
import { loadConfig } from '../../src/config';
import { createAgentRuntime } from '../../src/agent/create-agent-runtime';
import { NonceManager } from '../../src/web3/nonce-manager';
import type { ChainRegistry } from '../../src/web3/chain-registry';
import { signAndSend, waitForTransaction } from '../../src/web3/contract-calls';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, user, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const DEAD = '0x000000000000000000000000000000000000dead';

describe('agent runtime: overloaded contract methods (Hardhat)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let vault: { address: string; abi: unknown[] };
  let vaultAddress: string;
  let chains: ChainRegistry;
  let reader: Contract;
  let fake: OpenAiFake;
  const opened: { runtime: AgentRuntime; store: EventStore }[] = [];

  before(async () => {
    fx = await startChainFixture();
    fake = await startOpenAiFake([]);
    vault = await fx.deploy(join(__dirname, 'support', 'OverloadedVault.sol'), 'OverloadedVault', 1_000_000n);
    vaultAddress = vault.address;
    chains = await fx.registry([{ name: 'Vault', address: vaultAddress, abi: vault.abi }]);
    reader = new Contract(vaultAddress, vault.abi as never, chains.get(fx.chain.chainId).provider);
  });

  after(async () => {
    for (const o of opened) {
      await o.runtime.stop().catch(() => {});
      await o.store.close().catch(() => {});
    }
    chains?.close();
    await fake?.close();
    await fx?.close();
  });

  async function start(policyDoc: unknown) {
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
      privateKey: RUNTIME_KEY,
    };
    const runtime = new AgentRuntime(deps, { model: 'fake-model', stepTimeoutMs: 20_000, worker: `w-${opened.length}`, leaseMs: 1_500 }, new MemoryCheckpointStore());
    await runtime.start();
    opened.push({ runtime, store });
    return { store, approvals: new ApprovalsService({ store, catalog }) };
  }

  const vaultPolicy = (tenant: string, methods: Record<string, unknown>) => ({
    policies: [{ tenant, contracts: [{ chainId: fx.chain.chainId, address: vaultAddress, name: 'Vault', methods }] }],
  });
  const send = (method: string, args: unknown[]) => ({ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Vault', method, args } });
  const balance = async (a: string) => (await reader.balanceOf(a)) as bigint;
  const errorOf = (es: RecordedEvent[]) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;
  const lastType = (es: RecordedEvent[]) => es[es.length - 1].type;
  const txPolicies = (es: RecordedEvent[]) => ofType(es, 'PolicyEvaluated').filter((e) => (e.data as { subject: string }).subject === 'transaction');

  it('an ambiguous bare name is refused before any policy check, naming the overloads', async () => {
    const { store } = await start(vaultPolicy('o1', { 'transfer(address,uint256)': { amountArg: 1, maxAmount: '1000', approvalAbove: '0' } }));
    const es = await waitForTask(store, await submitTask(store, 'o1', { steps: [send('transfer', [addr(0x11), '5'])] }), ended);
    expect(errorOf(es)?.code).to.equal('CONTRACT_METHOD_AMBIGUOUS');
    expect(errorOf(es)?.message).to.include('transfer(address,uint256)').and.include('transfer(uint256,address,uint256)');
    expect(txPolicies(es), 'no policy check').to.have.length(0);
    expect(ofType(es, 'ApprovalRequested'), 'no approval asked').to.have.length(0);
  });

  it('an overload named by its full signature is proposed, approved and sent as exactly that function', async () => {
    const { store, approvals } = await start(vaultPolicy('o2', { 'transfer(uint256 ref, address to, uint256 amount)': { amountArg: 'amount', maxAmount: '1000', approvalAbove: '10' } }));
    const R = addr(0x12);
    const id = await submitTask(store, 'o2', { steps: [send('transfer(uint256,address,uint256)', ['7', R, '500'])] });
    const waiting = await waitForTask(store, id, (x) => ofType(x, 'ApprovalRequested').length > 0 || ended(x));
    expect(errorOf(waiting), 'waits for approval').to.equal(undefined);
    const req = ofType(waiting, 'ApprovalRequested')[0].data as { proposalHash: string; proposalJson: string; rule: string };
    const proposal = JSON.parse(req.proposalJson) as Proposal;
    expect(proposal.signature).to.equal('transfer(uint256,address,uint256)');
    expect(req.rule).to.equal('method.approvalAbove');
    expect(proposalHash(proposal)).to.equal(req.proposalHash);
    await approvals.decide({ tenant: 'o2', actor: user, taskId: id, proposalHash: req.proposalHash, decision: 'approve' });
    const es = await waitForTask(store, id, ended);
    expect(lastType(es), JSON.stringify(errorOf(es))).to.equal('TaskCompleted');
    expect(await balance(R)).to.equal(500n);
    // The signed bytes call that overload's selector.
    const tx = await chains.get(fx.chain.chainId).provider.getTransaction((ofType(es, 'TransactionSubmitted')[0].data as { txHash: string }).txHash);
    expect(tx!.data.slice(0, 10)).to.equal((reader.interface as Interface).getFunction('transfer(uint256,address,uint256)')!.selector);
  });

  it('the model told an ambiguous name picks an overload from the error and sends it', async () => {
    const R = addr(0x15);
    const chainId = fx.chain.chainId;
    fake.setScript((req: ChatRequest): FakeReply => {
      const results = req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
      if (results.length === 0) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'Vault', method: 'transfer', args: [R, '25'] } }] };
      const sig = /transfer\(address,uint256\)/.exec(results[0])?.[0];
      if (results.length === 1 && sig) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'Vault', method: sig, args: [R, '25'] } }] };
      return { content: `done: ${results.join(' | ')}` };
    });
    const { store } = await start(vaultPolicy('o5', { 'transfer(address,uint256)': { amountArg: 1, maxAmount: '1000' } }));
    const es = await waitForTask(store, await submitTask(store, 'o5', { instruction: `pay 25 to ${R}` }), ended);
    expect(lastType(es), JSON.stringify(errorOf(es))).to.equal('TaskCompleted');
    expect((ofType(es, 'TaskStepFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('CONTRACT_METHOD_AMBIGUOUS');
    expect(ofType(es, 'TransactionSubmitted')).to.have.length(1);
    expect(await balance(R)).to.equal(25n);
  });

  it('a cap cannot be dodged through another overload: the amount is read where each overload keeps it', async () => {
    const { store } = await start(
      vaultPolicy('o3', {
        'withdraw(uint256)': { amountArg: 0, maxAmount: '1000' },
        'withdraw(uint256,uint256)': { amountArg: 'amount', maxAmount: '1000' },
      }),
    );
    const before = await balance(DEAD);
    const small = await waitForTask(store, await submitTask(store, 'o3', { steps: [send('withdraw(uint256,uint256)', ['1', '900'])] }), ended);
    expect(lastType(small), JSON.stringify(errorOf(small))).to.equal('TaskCompleted');
    const dodge = await waitForTask(store, await submitTask(store, 'o3', { steps: [send('withdraw(uint256,uint256)', ['1', '5000'])] }), ended);
    expect(errorOf(dodge)?.code).to.equal('POLICY_DENIED');
    expect((txPolicies(dodge)[0].data as { rule: string }).rule).to.equal('method.maxAmount');
    expect((await balance(DEAD)) - before).to.equal(900n);
  });

  it('a rule keyed by a bare name never applies to an overloaded method (the cap would read another overload’s argument)', async () => {
    // amountArg 0 is the amount of withdraw(uint256) but the id of withdraw(uint256,uint256):
    // before, the cap of 1000 was checked against the id and 5000 went through.
    const doc = vaultPolicy('o4', { withdraw: { amountArg: 0, maxAmount: '1000' } });
    expect(() => assertPolicyFitsChains(parsePolicy(doc), chains))
      .to.throw(/withdraw is overloaded/)
      .with.property('code', 'CONFIG_INVALID');
    const { store } = await start(doc);
    const before = await balance(DEAD);
    const dodge = await waitForTask(store, await submitTask(store, 'o4', { steps: [send('withdraw(uint256,uint256)', ['1', '5000'])] }), ended);
    expect(errorOf(dodge)?.code).to.equal('POLICY_DENIED');
    expect((txPolicies(dodge)[0].data as { rule: string }).rule).to.equal('method.overloaded');
    expect((await balance(DEAD)) - before).to.equal(0n);
  });

  it('the gateway refuses to start with a bare-name rule for an overloaded method (POLICY_FILE against CHAINS_FILE)', async () => {
    const dir = join(fx.dir, 'start');
    mkdirSync(dir, { recursive: true });
    const abiFile = join(dir, 'vault.json');
    writeFileSync(abiFile, JSON.stringify({ abi: vault.abi }));
    writeFileSync(join(dir, 'chains.json'), JSON.stringify({ chains: [{ chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, contracts: [{ name: 'Vault', address: vaultAddress, abiFile }] }] }));
    const config = (methods: Record<string, unknown>) => {
      writeFileSync(join(dir, 'policy.json'), JSON.stringify(vaultPolicy('o6', methods)));
      return loadConfig({ DATA_DIR: dir, CHAINS_FILE: join(dir, 'chains.json'), POLICY_FILE: join(dir, 'policy.json') });
    };
    const store = await openStore(fx.dir);
    try {
      const err = await createAgentRuntime({ config: config({ withdraw: { amountArg: 0, maxAmount: '1000' } }), store, catalog, tools: { callTool: async () => ({ content: [] }) } }).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code).to.equal('CONFIG_INVALID');
      expect(err?.message).to.include('withdraw(uint256)').and.include('withdraw(uint256,uint256)');
      const ok = await createAgentRuntime({ config: config({ 'withdraw(uint256,uint256)': { amountArg: 'amount', maxAmount: '1000' } }), store, catalog, tools: { callTool: async () => ({ content: [] }) } });
      ok.chains?.close();
    } finally {
      await store.close();
    }
  });

  it('looks a step’s function up in the ABI once: a read and a transaction each resolve it a single time', async () => {
    // Before, a transaction step resolved its function four times (the ambiguity check, the
    // proposal, the policy's facts, the signing) and a read twice.
    const iface = chains.find(fx.chain.chainId, 'Vault')!.iface;
    const real = iface.getFunction.bind(iface);
    let lookups = 0;
    iface.getFunction = ((key: string, values?: unknown[]) => (lookups++, real(key, values as never))) as typeof iface.getFunction;
    try {
      const { store } = await start(vaultPolicy('o7', { 'withdraw(uint256,uint256)': { amountArg: 'amount', maxAmount: '1000' } }));
      const read = { tool: 'chain__read_contract', arguments: { chainId: fx.chain.chainId, contract: 'Vault', method: 'balanceOf', args: [DEAD] } };
      const r = await waitForTask(store, await submitTask(store, 'o7', { steps: [read] }), ended);
      expect(lastType(r), JSON.stringify(errorOf(r))).to.equal('TaskCompleted');
      expect(lookups, 'read').to.equal(1);
      lookups = 0;
      const t = await waitForTask(store, await submitTask(store, 'o7', { steps: [send('withdraw(uint256,uint256)', ['1', '5'])] }), ended);
      expect(lastType(t), JSON.stringify(errorOf(t))).to.equal('TaskCompleted');
      expect(lookups, 'transaction').to.equal(1);
    } finally {
      delete (iface as { getFunction?: unknown }).getFunction;
    }
  });

  it('a proposal recorded before signatures (no `signature`) keeps its hash and is still sent', async () => {
    const old: Proposal = { chainId: fx.chain.chainId, to: fx.token.toLowerCase(), method: 'transfer', args: [addr(0x14), '3'], value: '0', gas: '100000', stepId: 's-old' };
    const { chainId, to, method, args, value, gas, stepId } = old;
    expect(proposalHash(old)).to.equal(hashCanonical({ chainId, to, method, args, value, gas, stepId }));
    const tx = await signAndSend(chains, new NonceManager(), old, async () => {});
    expect((await waitForTransaction(chains, tx)).status).to.equal('success');
    expect(await fx.balanceOf(addr(0x14))).to.equal(3n);
  });
});
