import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDNodeWallet, Mnemonic } from 'ethers';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { createRpcProvider } from '../../src/web3/provider';

/**
 * The embedded chain's accounts are Hardhat's defaults, as a plain `npx hardhat node` has them:
 * auditors' and users' tools that assume account #1 … #19 (from the well-known mnemonic) keep working.
 */
describe('embedded chain: Hardhat\'s default accounts', function () {
  this.timeout(60_000);
  let dir: string;
  let chain: LocalChain;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-chain-accounts-'));
    chain = await startLocalChain({ port: 0, dataDir: dir });
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('unlocks the 20 accounts of the mnemonic "test test … junk", in order, each with 10 000 ETH at genesis', async () => {
    const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase('test test test test test test test test test test test junk'), "m/44'/60'/0'/0");
    const expected = Array.from({ length: 20 }, (_, i) => root.deriveChild(i).address.toLowerCase());
    const provider = createRpcProvider(chain.rpcUrl);
    try {
      const accounts: string[] = await provider.send('eth_accounts', []);
      expect(accounts.map((a) => a.toLowerCase())).to.deep.equal(expected);
      const balances = await Promise.all(expected.map((a) => provider.getBalance(a, 0)));
      expect(balances.map(String)).to.deep.equal(expected.map(() => '10000000000000000000000'));
      // Account #1 signs: the node holds its key, not only its balance.
      const tx: string = await provider.send('eth_sendTransaction', [{ from: expected[1], to: expected[2], value: '0x1' }]);
      expect((await provider.waitForTransaction(tx))?.status).to.equal(1);
    } finally {
      provider.destroy();
    }
  });
});
