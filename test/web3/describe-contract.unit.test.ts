import { expect } from 'chai';
import { Interface } from 'ethers';
import type { ChainRegistry } from '../../src/web3/chain-registry';
import { createContractDescriber } from '../../src/web3/describe-contract';

const VAULT = '0x' + 'ab'.repeat(20);
const abi = ['function withdraw(uint256 amount)', 'function withdraw(uint256 id, uint256 amount)', 'function pause()'];
// Only what the describer reads of a registry: the configured contracts (no token functions: no RPC).
const reg = { list: () => [{ chainId: 31337, contracts: [{ name: 'Vault', address: VAULT, iface: new Interface(abi) }] }] } as unknown as ChainRegistry;

describe('createContractDescriber: the function an approval card explains', () => {
  const describe_ = createContractDescriber(reg);

  it('finds an overload by the signature a proposal records, with its parameter names', async () => {
    const d = await describe_({ chainId: 31337, address: VAULT, method: 'withdraw(uint256,uint256)' });
    expect(d?.name).to.equal('Vault');
    expect(d?.method?.signature).to.equal('withdraw(uint256 id, uint256 amount)');
    expect(d?.method?.selector).to.equal(new Interface(abi).getFunction('withdraw(uint256,uint256)')!.selector);
  });

  it('names no function for a bare overloaded name (ambiguous), and one for a unique name', async () => {
    expect((await describe_({ chainId: 31337, address: VAULT, method: 'withdraw' }))?.method).to.equal(undefined);
    expect((await describe_({ chainId: 31337, address: VAULT, method: 'pause' }))?.method?.signature).to.equal('pause()');
  });
});
