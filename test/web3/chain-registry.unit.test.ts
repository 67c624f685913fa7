import { expect } from 'chai';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';

const TOKEN = '0x' + 'ab'.repeat(20);
const VAULT = '0x' + 'cd'.repeat(20);
const abi = ['function transfer(address to, uint256 amount)'];

describe('ChainRegistry: the configured contracts', () => {
  let reg: ChainRegistry;
  // Opening touches no network; nothing here calls the node, so the URL is never dialled.
  before(async () => {
    const chains = parseChains({ chains: [{ chainId: 31337, rpcUrl: 'http://127.0.0.1:9', contracts: [{ name: 'DemoToken', address: TOKEN.toUpperCase().replace('0X', '0x'), abi }, { name: 'Vault', address: VAULT, abi }] }] }, '.');
    reg = await ChainRegistry.open(chains);
  });
  after(() => reg.close());

  it('finds a contract by its name or its address, in any case', () => {
    for (const ref of ['DemoToken', 'demotoken', 'DEMOTOKEN', TOKEN, TOKEN.toUpperCase().replace('0X', '0x')]) {
      expect(reg.find(31337, ref)?.address, ref).to.equal(TOKEN);
    }
    expect(reg.find(31337, 'vault')?.name).to.equal('Vault');
  });

  it('finds nothing for a contract or a chain it does not configure', () => {
    expect(reg.find(31337, '0x' + 'ef'.repeat(20))).to.equal(undefined);
    expect(reg.find(31337, 'Other')).to.equal(undefined);
    expect(reg.find(1, 'DemoToken')).to.equal(undefined);
  });

  it('contract() refuses what find() does not know, naming the chain', () => {
    expect(reg.contract(reg.get(31337), 'DemoToken').address).to.equal(TOKEN);
    expect(() => reg.contract(reg.get(31337), 'Other')).to.throw(/contract Other is not configured on chain 31337/).with.property('code', 'CONTRACT_NOT_CONFIGURED');
  });

  it('names the chain\'s RPC without the API key in its path (the error reaches the model and the task\'s events; was: the whole Alchemy key)', async () => {
    const key = 'aB3dE_fGh1jKlMn0pQrStUvWx-Yz12';
    const keyed = await ChainRegistry.open(parseChains({ chains: [{ chainId: 1, rpcUrl: `https://eth-mainnet.g.alchemy.com/v2/${key}`, contracts: [{ name: 'Vault', address: VAULT, abi }] }] }, '.'));
    try {
      expect(() => keyed.contract(keyed.get(1), 'Other')).to.throw('contract Other is not configured on chain 1 (https://eth-mainnet.g.alchemy.com/v2/***)');
    } finally {
      keyed.close();
    }
  });
});
