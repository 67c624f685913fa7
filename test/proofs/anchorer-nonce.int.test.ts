import { expect } from 'chai';
import { Wallet, type JsonRpcProvider } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { createSealer } from '../../src/proofs/sealer';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { deployAnother, openFixture, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';

/**
 * The anchorer remembers its next nonce between transactions. Another sender with the same key
 * (a second process, an operator's manual transaction) takes that nonce meanwhile: the anchor
 * must go out after it, never replace it (a replacement silently drops the other transaction).
 */
describe('anchorer nonce when another sender shares its key', function () {
  this.timeout(120_000);
  let f: Fixture;
  let provider: JsonRpcProvider;
  before(async () => {
    f = await openFixture();
    provider = createRpcProvider(f.chain.rpcUrl);
  });
  after(async () => {
    provider?.destroy();
    await f?.close();
  });

  it('sends after a pending transaction of the same key instead of over it', async () => {
    const contract = await deployAnother(f.chain);
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 2, maxWaitMs: 0 });
    await submitTasks(f.store, 2);
    await sealer.flush();
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    expect(await anchorer.tick()).to.be.greaterThan(0);

    await submitTasks(f.store, 2);
    await sealer.flush();
    await provider.send('evm_setAutomine', [false]);
    let other: string;
    try {
      // Someone else with the key sends a transaction that is still pending, with higher fees
      // than the anchorer would offer (so a replacement would be refused, not silently accepted).
      const wallet = new Wallet(f.chain.anchorerPrivateKey, provider);
      const fees = await provider.getFeeData();
      const tx = await wallet.sendTransaction({ to: wallet.address, value: 1n, maxFeePerGas: fees.maxFeePerGas! * 3n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas! * 3n });
      other = tx.hash;
      let done = false;
      const ticking = anchorer.tick().finally(() => (done = true));
      // Mine whatever is pending while the anchorer waits for its receipt.
      const mining = (async () => {
        for (let i = 0; i < 100 && !done; i++) {
          await new Promise((r) => setTimeout(r, 100));
          await provider.send('evm_mine', []);
        }
      })();
      expect(await ticking).to.equal(1);
      await mining;
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
    await anchorer.stop();
    expect((await provider.getTransactionReceipt(other))?.status, 'the other transaction was mined').to.equal(1);
    expect(Number(await auditAnchorAt(contract, provider).nextBatchId())).to.equal((await f.store.readStream('auditbatch-log')).length);
  });
});
