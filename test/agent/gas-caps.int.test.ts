/**
 * Gas is native currency: a native daily cap counts the most a transaction can cost (value +
 * gasLimit × maxFeePerGas), charged at signing, and the unused part of the fee is taken back once
 * the receipt shows what was paid. Against a real local Hardhat chain, the real SqlSpendLedger
 * (SQLite) and a real payable contract (test/agent/support/PayableSink.sol). Each case failed
 * before the change (gas counted in no cap), except the node's refusal, which guards that the
 * larger charge is still taken back in full.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeDependencies, AgentRuntimeOptions } from '../../src/agent/runtime/runtime-deps';
import { parsePolicy, SqlSpendLedger, utcDay } from '../../src/agent/policy';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import { NonceManager } from '../../src/web3/nonce-manager';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';
import { startRemoteSigner } from '../support/remote-signer/remote-signer-server';
import { AGENT_WALLET, OTHER_KEY, MemoryCache, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const GWEI = 1_000_000_000n;

describe('agent runtime: gas counts in the native daily cap (Hardhat, SqlSpendLedger)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let chains: ChainRegistry;
  let knex: Knex;
  let ledger: SqlSpendLedger;
  let sink: string;
  let sinkAbi: unknown[];
  const opened: { runtime: AgentRuntime; store: EventStore }[] = [];

  before(async () => {
    fx = await startChainFixture();
    const deployed = await fx.deploy(join(__dirname, 'support', 'PayableSink.sol'), 'PayableSink');
    sinkAbi = deployed.abi;
    sink = deployed.address;
    chains = await fx.registry([{ name: 'Sink', address: sink, abi: deployed.abi }]);
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
    await knex?.destroy();
    await fx?.close();
  });

  async function start(policyDoc: unknown, opts: Partial<AgentRuntimeOptions> = {}, extra: Partial<AgentRuntimeDependencies> = {}) {
    const store = await openStore(fx.dir);
    const deps: AgentRuntimeDependencies = {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [{ type: 'text', text: 'no gateway' }], isError: true }) },
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
    return { store: deps.store, runtime };
  }

  /** The sink (deposit, ping, refuse) and DemoToken.transfer allowlisted, under `native`. */
  const policyOf = (tenant: string, native: Record<string, string>) => ({
    policies: [
      {
        tenant,
        native,
        contracts: [
          { chainId: fx.chain.chainId, address: sink, name: 'Sink', methods: { deposit: {}, ping: {}, refuse: {} } },
          { chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: { amountArg: 1 } } },
        ],
      },
    ],
  });
  const deposit = (value: bigint, gasLimit = '100000') => ({ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Sink', method: 'deposit', args: [], value: value.toString(), gasLimit } });
  const tokenTransfer = (to: string, amount: string, gasLimit = '100000') => ({ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [to, amount], gasLimit } });
  const nativeMeter = () => `native:${fx.chain.chainId}`;
  const spentToday = (tenant: string) => ledger.spent(tenant, '*', nativeMeter(), utcDay(new Date()));
  const walletBalance = async () => BigInt((await fx.rpc('eth_getBalance', [AGENT_WALLET, 'latest'])) as string);
  /** What the gateway would sign with now (ethers' getFeeData: twice the latest base fee + the tip). */
  const maxFeePerGas = async () => (await chains.get(fx.chain.chainId).provider.getFeeData()).maxFeePerGas!;

  const lastType = (es: RecordedEvent[]) => es[es.length - 1].type;
  const errorOf = (es: RecordedEvent[]) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;
  const rulesOf = (es: RecordedEvent[]) => ofType(es, 'PolicyEvaluated').map((e) => (e.data as { rule: string; decision: string }).rule);
  const run = async (store: EventStore, tenant: string, steps: unknown[]) => waitForTask(store, await submitTask(store, tenant, { steps: steps as never }), ended, 60_000);

  it('a daily cap of X does not let a deposit of X through: its gas would take the wallet past X (denied, nothing sent)', async () => {
    const cap = 10n ** 18n;
    const { store } = await start(policyOf('g1', { dailyCapWei: cap.toString() }));
    const before = await walletBalance();
    const events = await run(store, 'g1', [deposit(cap)]);
    expect(errorOf(events)?.code).to.equal('POLICY_DENIED');
    expect(errorOf(events)?.message).to.match(/native\.dailyCap/).and.to.match(/gas/).and.to.match(new RegExp(`daily cap ${cap}`));
    expect(rulesOf(events)).to.include('native.dailyCap');
    expect(ofType(events, 'TransactionSubmitted'), 'nothing signed').to.have.length(0);
    expect(await walletBalance(), 'nothing paid, not even gas').to.equal(before);
    expect(await spentToday('g1')).to.equal(0n);
  });

  it('what is charged is what the wallet paid: value + the fee the receipt shows (the unused maximum is taken back)', async () => {
    const cap = 10n ** 18n;
    const { store } = await start(policyOf('g2', { dailyCapWei: cap.toString() }));
    const value = cap / 2n;
    const before = await walletBalance();
    const events = await run(store, 'g2', [deposit(value)]);
    expect(lastType(events), JSON.stringify(errorOf(events))).to.equal('TaskCompleted');
    const paid = before - (await walletBalance());
    expect(paid > value, 'the deposit paid gas').to.equal(true);
    expect(await spentToday('g2'), 'charged exactly what left the wallet').to.equal(paid);
  });

  it('a reverted call took its gas but not its value: only the gas stays charged', async () => {
    const { store } = await start(policyOf('g8', { dailyCapWei: (10n ** 18n).toString() }));
    const before = await walletBalance();
    // An explicit gas limit: no estimate, so the call is sent and reverts on chain.
    const events = await run(store, 'g8', [{ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Sink', method: 'refuse', args: [], value: '1000000000000000', gasLimit: '100000' } }]);
    expect((ofType(events, 'TransactionConfirmed')[0]?.data as { status: string } | undefined)?.status).to.equal('reverted');
    const paid = before - (await walletBalance());
    expect(paid > 0n && paid < 1_000_000_000_000_000n, `paid ${paid}: gas only`).to.equal(true);
    expect(await spentToday('g8')).to.equal(paid);
  });

  it('calls of value 0 cost gas: under a native daily cap, token transfers stop before their gas passes it', async () => {
    // Room for about three transactions at their maximum fee (gas limit 100,000 each).
    const cap = 3n * 100_000n * (await maxFeePerGas()) + 1n;
    const { store } = await start(policyOf('g3', { dailyCapWei: cap.toString() }));
    const before = await walletBalance();
    const outcomes: string[] = [];
    let denial: RecordedEvent[] | undefined;
    for (let i = 0; i < 60 && !denial; i++) {
      const es = await run(store, 'g3', [tokenTransfer(addr(0x300 + i), '1')]);
      outcomes.push(lastType(es));
      if (lastType(es) === 'TaskFailed') denial = es;
    }
    expect(denial, `denied at last (outcomes: ${outcomes.join(', ')})`).to.not.equal(undefined);
    expect(errorOf(denial!)?.code).to.equal('POLICY_DENIED');
    expect(rulesOf(denial!)).to.include('native.dailyCap');
    expect(ofType(denial!, 'TransactionSubmitted')).to.have.length(0);
    const paid = before - (await walletBalance());
    expect(paid > 0n && paid <= cap, `paid ${paid} within the cap ${cap}`).to.equal(true);
    expect(await spentToday('g3')).to.equal(paid);
  });

  /** The next blocks' base fee (then mined, so getFeeData sees it). */
  const setBaseFee = async (wei: bigint) => {
    await fx.rpc('hardhat_setNextBlockBaseFeePerGas', ['0x' + wei.toString(16)]);
    await fx.rpc('evm_mine');
  };

  it('a fee spike: a call whose gas alone could pass the cap is denied, whatever its value (0)', async () => {
    await setBaseFee(GWEI);
    const cap = 100_000n * 2n * (await maxFeePerGas());
    const { store } = await start(policyOf('g4', { dailyCapWei: cap.toString() }));
    const before = await walletBalance();
    await setBaseFee(1_000n * GWEI);
    let events: RecordedEvent[];
    try {
      events = await run(store, 'g4', [{ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Sink', method: 'ping', args: [], gasLimit: '100000' } }]);
    } finally {
      await setBaseFee(GWEI);
    }
    expect(errorOf(events)?.code).to.equal('POLICY_DENIED');
    expect(rulesOf(events)).to.include('native.dailyCap');
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(0);
    expect(await walletBalance()).to.equal(before);
    // The same call at the ordinary fee fits.
    const again = await run(store, 'g4', [{ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Sink', method: 'ping', args: [], gasLimit: '100000' } }]);
    expect(lastType(again), JSON.stringify(errorOf(again))).to.equal('TaskCompleted');
  });

  it('a signer that signs a higher fee than asked (Clef lets its user edit it) is judged on the signed fee: denied, not recorded, not sent', async () => {
    await setBaseFee(GWEI);
    const cap = 100_000n * 2n * (await maxFeePerGas());
    const signer = await startRemoteSigner(OTHER_KEY);
    const remote = await ChainRegistry.open(
      parseChains({ chains: [{ chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, wallet: { type: 'remote', url: signer.url, address: signer.address }, contracts: [{ name: 'Sink', address: sink, abi: sinkAbi }] }] }, fx.dir),
    );
    const balanceOf = async () => BigInt((await fx.rpc('eth_getBalance', [signer.address, 'latest'])) as string);
    const ping = { tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'Sink', method: 'ping', args: [], gasLimit: '100000' } };
    try {
      const { store } = await start(policyOf('g7', { dailyCapWei: cap.toString() }), {}, { chains: remote });
      const before = await balanceOf();
      signer.setMaxFeePerGas(100n * GWEI);
      const events = await run(store, 'g7', [ping]);
      expect(errorOf(events)?.code).to.equal('POLICY_DENIED');
      expect(errorOf(events)?.message).to.match(/native\.dailyCap/).and.to.match(/max fee 100000000000 wei/);
      expect(ofType(events, 'TransactionSubmitted'), 'not recorded').to.have.length(0);
      expect(await balanceOf(), 'not sent').to.equal(before);
      expect(await spentToday('g7')).to.equal(0n);
      signer.setMaxFeePerGas(undefined);
      const again = await run(store, 'g7', [ping]);
      expect(lastType(again), JSON.stringify(errorOf(again))).to.equal('TaskCompleted');
      expect(await spentToday('g7')).to.equal(before - (await balanceOf()));
    } finally {
      remote.close();
      await signer.close();
    }
  });

  it('a step resumed after a restart keeps the maximum charged (it cannot know the first run booked it): too much, never too little', async () => {
    const cap = 10n ** 18n;
    const a = await start(policyOf('g5', { dailyCapWei: cap.toString() }));
    const before = await walletBalance();
    await fx.rpc('evm_setAutomine', [false]);
    let id: string;
    try {
      id = await submitTask(a.store, 'g5', { steps: [deposit(1000n)] });
      await waitForTask(a.store, id, (x) => ofType(x, 'TransactionSubmitted').length > 0 || ended(x));
      await a.runtime.stop();
    } finally {
      await fx.rpc('evm_setAutomine', [true]);
    }
    const charged = await spentToday('g5');
    await fx.rpc('evm_mine');
    await start(policyOf('g5', { dailyCapWei: cap.toString() }), {}, { store: a.store });
    const events = await waitForTask(a.store, id, ended, 60_000);
    expect(lastType(events), JSON.stringify(errorOf(events))).to.equal('TaskCompleted');
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    const paid = before - (await walletBalance());
    expect(charged >= paid, `charged ${charged} at signing covers the ${paid} paid`).to.equal(true);
    expect(await spentToday('g5'), 'not taken back by the resumed step').to.equal(charged);
  });

  it('a transaction the node refused (no funds for gas) leaves nothing charged, fee included', async () => {
    const { store } = await start(policyOf('g6', { dailyCapWei: (10n ** 18n).toString() }));
    const balance = await fx.rpc('eth_getBalance', [AGENT_WALLET, 'latest']);
    await fx.rpc('hardhat_setBalance', [AGENT_WALLET, '0x0']);
    let events: RecordedEvent[];
    try {
      events = await run(store, 'g6', [tokenTransfer(addr(0x601), '1')]);
    } finally {
      await fx.rpc('hardhat_setBalance', [AGENT_WALLET, balance]);
    }
    expect(errorOf(events)?.code).to.equal('TX_REJECTED');
    expect(await spentToday('g6')).to.equal(0n);
  });
});
