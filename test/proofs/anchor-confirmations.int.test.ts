import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer, type AnchorerOptions } from '../../src/proofs/anchorer';
import { BatchLog } from '../../src/proofs/batch-log';
import { BATCH_STREAM } from '../../events/audit-streams';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { deployAnother, mineUntil, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

class Killed extends Error {}

/**
 * A batch counts as anchored (BatchAnchored recorded, its proofs served) only once its transaction
 * has CHAIN_CONFIRMATIONS blocks, whichever way the anchorer learns of it: its own wait, or the
 * contract read after a restart that found a transaction of the previous run mined.
 */
describe('anchorer confirmations across restarts', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
    await sealBatches(f.store, { batches: 2, tasks: 2 });
  });
  after(() => f?.close());

  async function fresh(): Promise<{ contract: string; opts: AnchorerOptions; errors: unknown[] }> {
    const contract = await deployAnother(f.chain);
    const errors: unknown[] = [];
    return { contract, errors, opts: { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 50, onError: (e) => errors.push(e) } };
  }

  async function records(anchorer: ReturnType<typeof createAnchorer>) {
    return new BatchLog(f.store).anchorRecords(await anchorer.anchorStream());
  }

  it('a batch found mined after a restart is recorded only once it has CHAIN_CONFIRMATIONS (was: at once, on its first block)', async () => {
    const { opts } = await fresh();
    const crashed = createAnchorer(f.store, { ...opts, confirmations: 3, faults: (p) => { if (p === 'after-send') throw new Killed('killed after send'); } });
    await crashed.tick().then(() => expect.fail('the fault did not fire'), (e) => expect(e).to.be.instanceOf(Killed));
    await crashed.stop();
    const [log] = await auditAnchorAt(opts.contract, f.provider).queryFilter(auditAnchorAt(opts.contract, f.provider).filters.BatchAnchored(0));
    expect(await f.provider.getBlockNumber(), 'automine: its block is the head (1 confirmation)').to.equal(log.blockNumber);

    // The restart sends nothing past the unconfirmed batch and records nothing yet.
    const restarted = createAnchorer(f.store, { ...opts, confirmations: 3, faults: (p) => { if (p === 'before-send') throw new Killed('would send'); } });
    expect(await restarted.tick()).to.equal(0);
    expect(await records(restarted)).to.have.length(0);

    await f.provider.send('hardhat_mine', ['0x2']);
    await restarted.tick().catch((e) => expect(e).to.be.instanceOf(Killed));
    await restarted.stop();
    const [r] = await records(restarted);
    expect([r?.batchId, r?.txHash, r?.blockNumber]).to.deep.equal([0, log.transactionHash.toLowerCase(), log.blockNumber]);
  });

  it('CHAIN_CONFIRMATIONS=0 anchors once mined (was: "transaction failed" for every batch not mined at once)', async () => {
    const { opts, errors } = await fresh();
    const anchorer = createAnchorer(f.store, { ...opts, confirmations: 0 });
    await f.provider.send('evm_setAutomine', [false]);
    try {
      expect(await mineUntil(f.provider, anchorer.tick())).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
    expect(await records(anchorer)).to.have.length((await f.store.readStream(BATCH_STREAM)).length);
    await anchorer.stop();
    expect(errors).to.deep.equal([]);
  });

  it('stop() ends the wait for a transaction of the account still pending (was: held for up to 600 polls, past the shutdown deadline)', async () => {
    const { opts } = await fresh();
    await f.provider.send('evm_setAutomine', [false]);
    try {
      // Someone else's transaction with the key, never mined while the anchorer runs.
      const wallet = new Wallet(opts.privateKey!, f.provider);
      await wallet.sendTransaction({ to: wallet.address, value: 1n });
      const anchorer = createAnchorer(f.store, { ...opts, pollIntervalMs: 1000 });
      anchorer.start();
      await new Promise((r) => setTimeout(r, 300));
      await anchorer.stop();
      expect((await f.provider.send('eth_pendingTransactions', [])) as unknown[], 'stopped while it was still pending').to.have.length(1);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
  });

  it('waits for a transaction of the account still pending with polls spaced out, not one every pollIntervalMs (was: two eth_getTransactionCount, each after eth_chainId, every 200 ms for 2 minutes each round: about 1.7 million requests a day on a hosted RPC while an earlier run\'s anchor is stuck in a fee spike)', async () => {
    const { opts } = await fresh();
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    await f.provider.send('evm_setAutomine', [false]);
    try {
      // An earlier run's transaction, held pending for 4 s.
      const wallet = new Wallet(opts.privateKey!, f.provider);
      await wallet.sendTransaction({ to: wallet.address, value: 1n });
      const anchorer = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, pollIntervalMs: 200 });
      const ticking = anchorer.tick();
      await new Promise((r) => setTimeout(r, 4000));
      const polls = proxy.count('eth_getTransactionCount') / 2;
      await f.provider.send('evm_setAutomine', [true]);
      await f.provider.send('evm_mine', []);
      expect(await ticking).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      await anchorer.stop();
      // 200, 400, 800, 1600 ms … up to 5 s apart: 5 or 6 polls in those 4 s (20 at one every 200 ms).
      expect(polls, 'polls while it was pending').to.be.within(3, 8);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await proxy.close();
    }
  });

  it('stop() ends the wait for the receipt of its own anchor transaction, which the next run finds on chain (was: held until txTimeoutMs, 180 s by default, past the 10 s shutdown deadline)', async () => {
    const { opts, errors } = await fresh();
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    const me = new Wallet(opts.privateKey!).address;
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const lines: string[] = [];
      const anchorer = createAnchorer(f.store, { ...opts, txTimeoutMs: 60_000, log: (l) => lines.push(l) });
      anchorer.start();
      while ((await f.provider.getTransactionCount(me, 'pending')) === (await f.provider.getTransactionCount(me, 'latest'))) await new Promise((r) => setTimeout(r, 50));
      const outcome = await Promise.race([anchorer.stop().then(() => 'stopped'), new Promise((r) => setTimeout(r, 10_000, 'still waiting for the receipt'))]);
      expect(outcome).to.equal('stopped');
      // Said, not reported as an error (test/proofs/anchorer-stopping.int.test.ts).
      expect(errors).to.deep.equal([]);
      expect(lines.filter((l) => /stopped/.test(l)), lines.join('\n')).to.have.length(1);
      expect(lines.find((l) => /stopped/.test(l))).to.match(/^anchorer: anchor\(0\) transaction 0x[0-9a-f]{64} not mined yet; stopped: the next run finds it$/);
      // Its transaction stays pending, recorded (BatchAnchorSent); the next run takes it on as its own
      // (counted with the batches it sends), waits for it and records the batch, sending it not again.
      const restarted = createAnchorer(f.store, opts);
      expect(await mineUntil(f.provider, restarted.tick())).to.equal(sealed);
      expect((await records(restarted)).map((r) => r.batchId)).to.deep.equal([...Array(sealed).keys()]);
      await restarted.stop();
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
  });

  for (const pool of ['listed', 'listed among entries that are no transactions', 'refused'] as const) {
    const listed = pool !== 'refused';
    it(`after a restart, a batch whose transaction of the previous run was still pending is ${listed ? `taken on from the node's pool (${pool})` : 'recorded from the chain (a node that does not list its pool, which is said)'}, not sent again (was: reverted AuditAnchorBatchOutOfOrder${pool === 'listed' ? '' : pool === 'refused' ? '; the refusal unsaid' : '; a TypeError each round'})`, async () => {
      const { opts, errors } = await fresh();
      const sealed = (await f.store.readStream(BATCH_STREAM)).length;
      const proxy = await startCountingProxy(f.chain.rpcUrl);
      if (!listed) proxy.refuse(['eth_pendingTransactions'], { code: -32601, message: 'the method eth_pendingTransactions does not exist/is not available' });
      // A node of another kind may list what is not a transaction object.
      if (pool !== 'listed' && listed) proxy.edit('eth_pendingTransactions', (r) => [null, 7, 'x', ...(r as unknown[])]);
      const lines: string[] = [];
      await f.provider.send('evm_setAutomine', [false]);
      try {
        const crashed = createAnchorer(f.store, { ...opts, faults: (p) => { if (p === 'after-send') throw new Killed('killed after send'); } });
        await crashed.tick().then(() => expect.fail('the fault did not fire'), (e) => expect(e).to.be.instanceOf(Killed));
        await crashed.stop();
        const me = new Wallet(opts.privateKey!).address;
        expect(await f.provider.getTransactionCount(me, 'pending'), 'its transaction is still pending').to.be.greaterThan(await f.provider.getTransactionCount(me, 'latest'));
        const [pending] = (await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[];
        // What the round says once it has asked the node's pool: the transaction taken on, or the refusal.
        const asked = listed ? 'anchorer: taking on' : 'anchorer: the node does not list its pool';
        let heard!: () => void;
        const poolAsked = new Promise<void>((r) => (heard = r));
        const restarted = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, log: (l) => (lines.push(l), l.startsWith(asked) && heard()) });
        // Found in the node's pool (no BatchAnchorSent: killed at once), it is taken on as this run's
        // own and counted with the batches it sends; else waited for and found on chain. Blocks come
        // once the pool is asked: mined before, the account has nothing pending, the pool is not asked,
        // and it is found on chain unsaid (a slow round under load did so against blocks every 100 ms).
        const round = restarted.tick();
        // Raced with the round: a round that fails before it asks the pool ends the test, not its timeout.
        await Promise.race([poolAsked, round]);
        expect(await mineUntil(f.provider, round), 'the batches anchored').to.equal(listed ? sealed : sealed - 1);
        const recorded = await records(restarted);
        expect(recorded.map((r) => r.batchId)).to.deep.equal([...Array(sealed).keys()]);
        expect(recorded[0].txHash, 'the killed run\'s transaction').to.equal(pending.hash);
        const refusals = lines.filter((l) => l.startsWith('anchorer: the node does not list its pool'));
        if (listed) expect(refusals).to.deep.equal([]);
        else expect(refusals).to.deep.equal(['anchorer: the node does not list its pool (eth_pendingTransactions refused: -32601 the method eth_pendingTransactions does not exist/is not available): an anchor transaction an earlier run sent and stopped before recording is waited for, not taken on (docs/proofs.md §6)']);
        await restarted.stop();
      } finally {
        await f.provider.send('evm_setAutomine', [true]);
        await proxy.close();
      }
      expect(errors).to.deep.equal([]);
    });
  }
  it('asks the node for its pool only when a transaction of the anchorer account is pending: not at a start, nor after a failed round, with nothing pending (was: at each, where a node may answer with its whole pool and an RPC over its rate limit (HTTP 429) has ethers retry for up to 30 s)', async () => {
    const { opts } = await fresh();
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const anchorer = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url });
    try {
      expect(await anchorer.tick(), 'a start with nothing pending').to.equal(sealed);
      // A round that fails (an RPC refusing the contract's reads a moment) leaves no nonce counter: the next one starts afresh.
      proxy.refuse(['eth_call']);
      await anchorer.tick().then(() => expect.fail('the round did not fail'), () => undefined);
      proxy.refuse([]);
      expect(await anchorer.tick(), 'the round after a failed one').to.equal(0);
      expect(proxy.count('eth_pendingTransactions')).to.equal(0);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
  });
  it('an anchor mined but not CHAIN_CONFIRMATIONS deep within the tx timeout, or at a stop, is not recorded as BatchAnchorSent: it is not stuck (was: one BatchAnchorSent per batch wherever confirmations take longer than the timeout, so that with BATCH_MAX_EVENTS=3 each batch\'s own BatchSealed, BatchAnchorSent and BatchAnchored filled the next: sealed and anchored, a transaction each, for ever)', async () => {
    const { contract, opts } = await fresh();
    const sent = async () => (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchorSent' && (e.data as { contract: string }).contract === contract);
    // Automine: each anchor is mined at once; the blocks for its confirmations come slower than the timeout.
    let settled = false;
    const slowBlocks = async (round: Promise<unknown>) => {
      const watched = round.finally(() => (settled = true));
      while (!settled) {
        await new Promise((r) => setTimeout(r, 600));
        if (!settled) await f.provider.send('evm_mine', []);
      }
      return watched;
    };
    const anchorer = createAnchorer(f.store, { ...opts, confirmations: 3, txTimeoutMs: 300 });
    try {
      expect(await slowBlocks(anchorer.tick())).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      expect(await sent(), 'late for its confirmations').to.have.length(0);
    } finally {
      await anchorer.stop();
    }
    // Stopped while a mined anchor waits for its confirmations: the next run finds it on chain.
    await sealBatches(f.store, { tasks: 2 });
    const lines: string[] = [];
    const stopping = createAnchorer(f.store, { ...opts, confirmations: 3, txTimeoutMs: 60_000, log: (l) => lines.push(l) });
    const me = new Wallet(opts.privateKey!).address;
    const before = await f.provider.getTransactionCount(me, 'latest');
    stopping.start();
    while ((await f.provider.getTransactionCount(me, 'latest')) === before) await new Promise((r) => setTimeout(r, 50));
    await stopping.stop();
    expect(lines.filter((l) => /not 3 blocks deep yet; stopped/.test(l)), lines.join('\n')).to.have.length(1);
    expect(await sent(), 'stopped waiting for its confirmations').to.have.length(0);
  });
});
