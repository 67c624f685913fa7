/**
 * A transaction the policy denies whatever its gas is never reaches the chain's node, not even as
 * a gas estimate (eth_estimateGas hands the node — often a third party's — the denied call's data),
 * and its denial is always recorded as such: a denied transfer the node would also have reverted
 * (more than the wallet holds) failed CONTRACT_CALL_FAILED "would revert", with no PolicyEvaluated deny.
 */
import { expect } from 'chai';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeDependencies } from '../../src/agent/runtime/runtime-deps';
import { parsePolicy } from '../../src/agent/policy';
import { NonceManager } from '../../src/web3/nonce-manager';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';
import { startCountingProxy, type CountingRpcProxy } from '../support/counting-rpc-proxy';
import { AGENT_WALLET_KEY, MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const R = '0x00000000000000000000000000000000000000aa';

describe('agent runtime: a transaction denied whatever its gas is judged before the node sees it (Hardhat)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let proxy: CountingRpcProxy;
  let chains: ChainRegistry;
  let store: EventStore;
  let runtime: AgentRuntime;

  before(async () => {
    fx = await startChainFixture();
    proxy = await startCountingProxy(fx.chain.rpcUrl);
    chains = await ChainRegistry.open(
      parseChains({ chains: [{ chainId: fx.chain.chainId, rpcUrl: proxy.url, wallet: { type: 'key', privateKey: AGENT_WALLET_KEY }, contracts: [{ name: 'DemoToken', address: fx.token, abi: fx.tokenAbi }] }] }, fx.dir),
    );
    store = await openStore(fx.dir);
    const token = (methods: Record<string, unknown>) => [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods }];
    // beta: the token is listed, none of its methods may be sent.
    const policy = { policies: [{ tenant: 'acme', contracts: token({ transfer: { amountArg: 1, maxAmount: '1000' } }) }, { tenant: 'beta', contracts: token({}) }] };
    const deps: AgentRuntimeDependencies = {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [{ type: 'text', text: 'no gateway' }], isError: true }) },
      cache: new MemoryCache(),
      chains,
      nonces: new NonceManager(),
      policy: parsePolicy(policy),
      privateKey: RUNTIME_KEY,
    };
    runtime = new AgentRuntime(deps, { model: 'none', stepTimeoutMs: 20_000, worker: 'w-0', leaseMs: 1_500 }, new MemoryCheckpointStore());
    await runtime.start();
  });

  after(async () => {
    await runtime?.stop().catch(() => {});
    await store?.close().catch(() => {});
    chains?.close();
    await proxy?.close();
    await fx?.close();
  });

  const send = (method: string, args: unknown[]) => ({ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method, args } });
  const failure = (es: RecordedEvent[]) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;
  const txDecisions = (es: RecordedEvent[]) =>
    ofType(es, 'PolicyEvaluated')
      .map((e) => e.data as { subject: string; decision: string; rule: string })
      .filter((d) => d.subject === 'transaction')
      .map((d) => `${d.decision} ${d.rule}`);

  for (const [what, tenant, amount, rule] of [
    ['an amount above maxAmount', 'acme', '2000', 'method.maxAmount'],
    ['an amount above maxAmount that the node would revert (more than the wallet holds)', 'acme', '5000000', 'method.maxAmount'],
    ['a method that is not allowlisted', 'beta', '1', 'contracts.method'],
  ] as const) {
    it(`${what}: denied (${rule}), recorded, and no eth_estimateGas sent`, async () => {
      proxy.reset();
      const es = await waitForTask(store, await submitTask(store, tenant, { steps: [send('transfer', [R, amount])] }), ended);
      expect(failure(es)?.code, JSON.stringify(failure(es))).to.equal('POLICY_DENIED');
      expect(txDecisions(es)).to.deep.equal([`deny ${rule}`]);
      expect(proxy.count('eth_estimateGas'), 'the node saw no estimate of the denied call').to.equal(0);
      // Nor the check that the contract has code (asked of the node only for a call the policy let through).
      expect(proxy.count('eth_getCode'), 'no eth_getCode for the denied call').to.equal(0);
      expect(proxy.count('eth_sendRawTransaction')).to.equal(0);
    });
  }

  it('an allowed transfer is still estimated, sent and recorded once allowed', async () => {
    proxy.reset();
    const es = await waitForTask(store, await submitTask(store, 'acme', { steps: [send('transfer', [R, '5'])] }), ended);
    expect(failure(es), JSON.stringify(failure(es))).to.equal(undefined);
    expect(txDecisions(es)).to.deep.equal(['allow contracts.method']);
    expect(proxy.count('eth_estimateGas')).to.equal(1);
    expect(proxy.count('eth_getCode'), 'its contract checked once').to.equal(1);
    expect(await fx.balanceOf(R)).to.equal(5n);
  });
});
