import { expect } from 'chai';
import { Interface } from 'ethers';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';
import { createContractDescriber, type ContractDescription, type DescribeContractParameters } from '../../src/web3/describe-contract';

const VAULT = '0x' + 'ab'.repeat(20);
const abi = ['function withdraw(uint256 amount)', 'function withdraw(uint256 id, uint256 amount)', 'function pause()'];

describe('createContractDescriber: the function an approval card explains', () => {
  let reg: ChainRegistry;
  let describe_: (p: DescribeContractParameters) => Promise<ContractDescription | undefined>;
  // No token functions in the ABI: the describer makes no RPC, so the URL is never dialled.
  before(async () => {
    reg = await ChainRegistry.open(parseChains({ chains: [{ chainId: 31337, rpcUrl: 'http://127.0.0.1:9', contracts: [{ name: 'Vault', address: VAULT, abi }] }] }, '.'));
    describe_ = createContractDescriber(reg);
  });
  after(() => reg.close());

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

  it('describes only configured contracts, found by address in either case', async () => {
    expect((await describe_({ chainId: 31337, address: VAULT.toUpperCase().replace('0X', '0x') }))?.address).to.equal(VAULT);
    expect(await describe_({ chainId: 31337, address: '0x' + 'cd'.repeat(20) })).to.equal(undefined);
    expect(await describe_({ chainId: 1, address: VAULT })).to.equal(undefined);
  });
});
