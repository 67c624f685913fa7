import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EventStore } from '../../src/eventstore/port';
import { openSqlEventStore } from '../../src/eventstore/sql';
import { openKnex } from '../../src/db/knex';
import { verifyOutputSignature } from '../../src/agent/runtime/output-signature';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { AGENT_WALLET, AGENT_WALLET_KEY, ended, ofType, startChainFixture, submitTask, waitForTask, type ChainFixture } from './support/agent-fixture';

const RECIPIENT = '0x000000000000000000000000000000000000d00d';
const RUNTIME_KEY = '0x6c3699283bda56ad74f6b855546325b68d482e983852a7a82979cc4807b641f4';

function script(chainId: number) {
  return (req: ChatRequest): FakeReply => {
    const results = req.messages.filter((m) => m.role === 'tool');
    if (results.length === 0) return { toolCalls: [{ name: 'chain__read_contract', arguments: { chainId, contract: 'DemoToken', method: 'balanceOf', args: [AGENT_WALLET] } }] };
    if (results.length === 1) return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [RECIPIENT, '70'] } }] };
    return { content: `done: ${results[1].content}` };
  };
}

describe('agent runtime: SIGKILL mid-transaction, restart in a new process', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let fake: OpenAiFake;
  let store: EventStore;
  let dbPath: string;
  const children: ChildProcess[] = [];

  function startChild(env: Record<string, string> = {}): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), join(__dirname, 'support', 'runtime-child.ts')], {
      env: { ...process.env, ...env, OMC_DB: dbPath, OMC_RPC: fx.chain.rpcUrl, OMC_CHAIN_ID: String(fx.chain.chainId), OMC_TOKEN: fx.token, OMC_LLM: fake.baseURL, OMC_WALLET_KEY: AGENT_WALLET_KEY, OMC_RUNTIME_KEY: RUNTIME_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve(child));
      child.once('exit', (code) => reject(new Error(`runtime child exited ${code}: ${err}`)));
    });
  }

  before(async () => {
    fx = await startChainFixture();
    fake = await startOpenAiFake(script(fx.chain.chainId));
    dbPath = join(fx.dir, 'crash.db');
    store = await openSqlEventStore(`sqlite:${dbPath}`);
  });
  async function killChildren(): Promise<void> {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
  }

  after(async () => {
    await killChildren();
    await store?.close();
    await fake?.close();
    await fx?.close();
  });

  it('resumes from the task events: the transaction is awaited, not sent again; finished turns are not asked again', async () => {
    const nonce = await fx.nonceOf(AGENT_WALLET);
    const balance = await fx.balanceOf(RECIPIENT);
    const first = await startChild();
    await fx.rpc('evm_setAutomine', [false]);
    let id: string;
    try {
      id = await submitTask(store, 'acme', { instruction: 'Send 70 DEMO to the treasury' });
      await waitForTask(store, id, (es) => ofType(es, 'TransactionSubmitted').length > 0 || ended(es));
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
    } finally {
      await fx.rpc('evm_setAutomine', [true]);
    }
    await fx.rpc('evm_mine');
    const asked = fake.requests.length;
    await startChild();
    const events = await waitForTask(store, id, ended, 60_000);
    const done = ofType(events, 'TaskCompleted')[0];
    expect(done, JSON.stringify(ofType(events, 'TaskFailed')[0]?.data)).to.exist;
    expect(verifyOutputSignature(done.data as never)).to.equal(true);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(ofType(events, 'TransactionConfirmed')).to.have.length(1);
    expect(await fx.nonceOf(AGENT_WALLET)).to.equal(nonce + 1);
    expect(await fx.balanceOf(RECIPIENT)).to.equal(balance + 70n);
    expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { turn: number }).turn)).to.deep.equal([0, 1, 2]);
    expect(fake.requests.length - asked).to.equal(1);
    const workers = new Set(events.filter((e) => e.actor.kind === 'agent').map((e) => e.actor.id));
    expect(workers.size).to.equal(2);
  });

  it('a crash right after the transaction is recorded: the resumed step sends it, and it counts against the daily cap', async () => {
    await killChildren(); // the first test's runtime
    const tenant = 'crash-after-record';
    const balance = await fx.balanceOf(RECIPIENT);
    const first = await startChild({ OMC_DIE_AFTER: 'TransactionSubmitted' });
    const died = new Promise((r) => first.once('exit', r));
    const id = await submitTask(store, tenant, { instruction: 'Send 70 DEMO to the treasury' });
    await died;
    await startChild();
    const events = await waitForTask(store, id, ended, 60_000);
    expect(ofType(events, 'TaskCompleted'), JSON.stringify(ofType(events, 'TaskFailed')[0]?.data)).to.have.length(1);
    expect(ofType(events, 'TransactionSubmitted')).to.have.length(1);
    expect(await fx.balanceOf(RECIPIENT)).to.equal(balance + 70n);
    const knex = await openKnex(`sqlite:${dbPath}`);
    try {
      const rows: { amount: string }[] = await knex('agent_spend').where({ tenant, meter: `method:${fx.chain.chainId}:${fx.token.toLowerCase()}:transfer` });
      // Before: 0. It had been recorded, then the process died before booking it, and the resumed
      // step only awaited (re-broadcast) the recorded transaction: sent, never counted.
      expect(rows.reduce((n, r) => n + BigInt(r.amount), 0n), 'charged to the daily cap').to.equal(70n);
    } finally {
      await knex.destroy();
    }
  });
});
