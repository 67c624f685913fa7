import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer, type AnchorerFunds } from '../../src/proofs/anchorer';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * The anchorer account's balance and the cost of its last anchor, for the low-funds alert
 * (openmcp_anchorer_balance_wei < N × openmcp_anchorer_last_anchor_cost_wei): read after each
 * anchor it sends, never while idle.
 */
describe('anchorer funds: balance and last anchor cost', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  it('reports the balance read after each anchor and that anchor\'s cost (gas used × effective gas price), with one balance read per anchor and none while idle', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { batches: 2, tasks: 2 });
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const funds: AnchorerFunds[] = [];
    const hashes: string[] = [];
    const anchorer = createAnchorer(f.store, {
      rpcUrl: proxy.url,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      onAnchored: (r) => hashes.push(r.txHash),
      onFunds: (x) => funds.push(x),
    });
    try {
      const sent = await anchorer.tick();
      expect(sent).to.be.greaterThan(1);
      expect(funds).to.have.length(sent);
      expect(proxy.count('eth_getBalance')).to.equal(sent);
      const account = new Wallet(f.chain.anchorerPrivateKey).address;
      const last = await f.provider.getTransactionReceipt(hashes.at(-1)!);
      expect(funds.at(-1)).to.deep.equal({ account: account.toLowerCase(), balanceWei: await f.provider.getBalance(account), lastAnchorCostWei: last!.gasUsed * last!.gasPrice });
      expect(funds.at(-1)!.lastAnchorCostWei! > 0n).to.equal(true);
      // Nothing to anchor: no balance read.
      proxy.reset();
      expect(await anchorer.tick()).to.equal(0);
      expect(proxy.count('eth_getBalance')).to.equal(0);
      expect(funds).to.have.length(sent);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
  });
});
