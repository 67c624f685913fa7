import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { countedErrorCode } from '../../src/metrics/error-code';
import { startCountingProxy, type CountingRpcProxy } from '../support/counting-rpc-proxy';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * A drain (SIGTERM, a term that ended) stops the anchorer while it waits on the chain: what it
 * throws because it stops is no fault, the next run finds the transaction. It was reported as an
 * anchorer error and counted INTERNAL, which the critical OpenMcpErrors alert watches.
 */
describe('anchorer stopped while it waits on the chain', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  async function until(proxy: CountingRpcProxy, method: string, n: number): Promise<void> {
    while (proxy.count(method) < n) await new Promise((r) => setTimeout(r, 20));
  }

  for (const when of ['waiting for an earlier pending transaction of the account', 'waiting for its own anchor to be mined'] as const) {
    it(`${when}: logs what it left, reports no error (was: INTERNAL)`, async () => {
      const contract = await deployAnother(f.chain);
      await sealBatches(f.store, { tasks: 3 });
      const proxy = await startCountingProxy(f.chain.rpcUrl);
      const errors: unknown[] = [];
      const lines: string[] = [];
      const anchorer = createAnchorer(f.store, { rpcUrl: proxy.url, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20, onError: (e) => errors.push(e), log: (l) => lines.push(l) });
      await f.provider.send('evm_setAutomine', [false]);
      try {
        if (when === 'waiting for an earlier pending transaction of the account') {
          const wallet = new Wallet(f.chain.anchorerPrivateKey, f.provider);
          await wallet.sendTransaction({ to: wallet.address, value: 1n });
          anchorer.start();
          await until(proxy, 'eth_getTransactionCount', 6);
        } else {
          anchorer.start();
          await until(proxy, 'eth_sendRawTransaction', 1);
        }
        await anchorer.stop();
      } finally {
        await f.provider.send('evm_setAutomine', [true]);
        await f.provider.send('evm_mine', []);
        await proxy.close();
      }
      expect(errors.map((e) => `${countedErrorCode(e)}: ${(e as Error).message}`)).to.deep.equal([]);
      expect(lines.join('\n')).to.match(/anchorer: stopped .*|anchorer: .*stopped/);
    });
  }
});
