import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { deployAnother, mineUntil, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * The anchorer remembers its next nonce between transactions. Another sender with the same key
 * (a second process, an operator's manual transaction) takes that nonce meanwhile: the anchor
 * must go out after it, never replace it (a replacement silently drops the other transaction).
 */
describe('anchorer nonce when another sender shares its key', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  /**
   * Someone else with the anchorer's key sends a transaction that stays pending (automine off),
   * with higher fees than the anchorer would offer (so a replacement would be refused, not silently
   * accepted); then the anchorer's round runs while blocks are mined, and must anchor one batch.
   * Its hash.
   */
  async function tickBesideAnotherSender(anchorer: ReturnType<typeof createAnchorer>): Promise<string> {
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const wallet = new Wallet(f.chain.anchorerPrivateKey, f.provider);
      const fees = await f.provider.getFeeData();
      const other = (await wallet.sendTransaction({ to: wallet.address, value: 1n, maxFeePerGas: fees.maxFeePerGas! * 3n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas! * 3n })).hash;
      expect(await mineUntil(f.provider, anchorer.tick())).to.equal(1);
      return other;
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
  }

  it('sends after a pending transaction of the same key instead of over it', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    expect(await anchorer.tick()).to.be.greaterThan(0);

    await sealBatches(f.store, { tasks: 2 });
    const other = await tickBesideAnotherSender(anchorer);
    await anchorer.stop();
    expect((await f.provider.getTransactionReceipt(other))?.status, 'the other transaction was mined').to.equal(1);
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal((await f.store.readStream('auditbatch-log')).length);
  });

  it('a round that sent nothing leaves no nonce to trust later: the next send reads the pending count again (was: sent on the nonce of that earlier round, over a transaction of the key sent meanwhile)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const first = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    expect(await first.tick()).to.be.greaterThan(0);
    await first.stop();
    // A restarted anchorer: its first round reads the account's nonce and finds nothing to send.
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    expect(await anchorer.tick()).to.equal(0);

    await sealBatches(f.store, { tasks: 2 });
    let other: string;
    try {
      other = await tickBesideAnotherSender(anchorer);
    } finally {
      await anchorer.stop();
    }
    expect((await f.provider.getTransactionReceipt(other))?.status, 'the other transaction was mined').to.equal(1);
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal((await f.store.readStream('auditbatch-log')).length);
  });

  it('an idle background anchorer reads the chain every idleChainCheckMs, not every poll (was: two eth_calls every 200 ms, over 800,000 a day)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const first = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    expect(await first.tick()).to.be.greaterThan(0);
    await first.stop();

    let rounds = 0;
    // Each round reads the anchor stream: counted to know how many rounds ran.
    const store = new Proxy(f.store, {
      get(target, prop, receiver) {
        if (prop !== 'readStream') return Reflect.get(target, prop, receiver);
        return (stream: string, ...rest: unknown[]) => {
          if (stream.startsWith('auditanchor-')) rounds++;
          return (target.readStream as (...a: unknown[]) => unknown)(stream, ...rest);
        };
      },
    });
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const anchorer = createAnchorer(store, { rpcUrl: proxy.url, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 10, idleChainCheckMs: 600_000 });
    try {
      anchorer.start();
      while (rounds < 30) await new Promise((r) => setTimeout(r, 20));
      // The first round only: the contract checked at first contact, nextBatchId, the newest common batch.
      expect(proxy.count('eth_call')).to.equal(3);
      // A batch sealed meanwhile is anchored at the next poll, idle check or not.
      await sealBatches(f.store, { tasks: 2 });
      const sealed = (await f.store.readStream('auditbatch-log')).length;
      while (Number(await auditAnchorAt(contract, f.provider).nextBatchId()) < sealed) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
  });

  it('reads the pending count once per send, and looks for the contract\'s code once per chain, not on every refresh', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { batches: 2, tasks: 2 });
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const anchorer = createAnchorer(f.store, { rpcUrl: proxy.url, contract, privateKey: f.chain.anchorerPrivateKey, targetMaxAgeMs: 0 });
    try {
      // Every sealed batch (this contract is new: from batch 0).
      const sent = await anchorer.tick();
      expect(sent).to.equal((await f.store.readStream('auditbatch-log')).length).and.to.be.greaterThan(1);
      // Before the first send: latest and pending (nothing of ours still pending); then the
      // pending count before each later send (another sender may have taken our next nonce).
      // Was: the pending count once more before the first send, read again just after.
      expect(proxy.count('eth_getTransactionCount')).to.equal(2 + (sent - 1));
      expect(proxy.count('eth_getCode')).to.equal(1);
      // An instance serving queries looks at the genesis again on each answer (targetMaxAgeMs 0):
      // the same chain, so the contract's code is not looked for again (was: on every refresh).
      const stream = await anchorer.anchorStream();
      for (let i = 0; i < 3; i++) expect(await anchorer.anchorStream()).to.equal(stream);
      expect(proxy.count('eth_getCode')).to.equal(1);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
  });
});
