import { expect } from 'chai';
import { HDNodeWallet, Mnemonic } from 'ethers';
import { defaultHardhatNetworkHdAccountsConfigParams, DEFAULT_HARDHAT_NETWORK_BALANCE, HARDHAT_NETWORK_MNEMONIC } from 'hardhat/internal/core/config/default-config';
import { HARDHAT_ACCOUNT_BALANCE_WEI, HARDHAT_ACCOUNT_KEYS, hardhatAccountsConfig } from '../../src/web3/hardhat-accounts';
import { HARDHAT_ACCOUNT_0_KEY } from '../../src/web3/local-chain';

/** The embedded chain's accounts, named in its config, are exactly the ones Hardhat would derive itself. */
describe('Hardhat default accounts, given explicitly', () => {
  it('are the keys derived from Hardhat\'s mnemonic, in order, as many as Hardhat makes', () => {
    const { path, count, initialIndex } = defaultHardhatNetworkHdAccountsConfigParams;
    const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_NETWORK_MNEMONIC), path);
    const derived = Array.from({ length: count }, (_, i) => root.deriveChild(initialIndex + i).privateKey);
    expect(HARDHAT_ACCOUNT_KEYS).to.deep.equal(derived);
    expect(HARDHAT_ACCOUNT_KEYS[0]).to.equal(HARDHAT_ACCOUNT_0_KEY);
  });

  it('are funded as Hardhat funds them', () => {
    expect(HARDHAT_ACCOUNT_BALANCE_WEI).to.equal(DEFAULT_HARDHAT_NETWORK_BALANCE);
    expect(hardhatAccountsConfig()).to.have.length(20);
    expect(hardhatAccountsConfig().every((a) => a.balance === DEFAULT_HARDHAT_NETWORK_BALANCE)).to.equal(true);
  });
});
