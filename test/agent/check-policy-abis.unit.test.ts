import { expect } from 'chai';
import { Interface } from 'ethers';
import { assertPolicyFitsChains } from '../../src/agent/policy/check-policy-abis';
import { parsePolicy } from '../../src/agent/policy';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';

const VAULT = '0x' + 'ab'.repeat(20);
const abi = ['function withdraw(uint256 amount)', 'function withdraw(uint256 id, uint256 amount)', 'function transfer(address to, uint256 value)', 'function pause()'];

/** POLICY_FILE checked against CHAINS_FILE's ABIs at start-up (no RPC: the URL is never dialled). */
describe('assertPolicyFitsChains: method rules the configured ABIs make unsafe or meaningless', () => {
  let chains: ChainRegistry;
  before(async () => {
    chains = await ChainRegistry.open(parseChains({ chains: [{ chainId: 31337, rpcUrl: 'http://127.0.0.1:9', contracts: [{ name: 'Vault', address: VAULT, abi }] }] }, '.'));
  });
  after(() => chains.close());

  const check = (methods: Record<string, unknown>, address = VAULT, chainId = 31337) =>
    assertPolicyFitsChains(parsePolicy({ policies: [{ tenant: 't', contracts: [{ chainId, address, methods }] }] }), chains);
  const refused = (methods: Record<string, unknown>) => {
    try {
      check(methods);
    } catch (err) {
      expect(err).to.have.property('code', 'CONFIG_INVALID');
      return (err as Error).message;
    }
    return undefined;
  };

  it('accepts rules whose amountArg is a parameter, by position or name, keyed by name or signature', () => {
    check({ transfer: { amountArg: 1, maxAmount: '5' }, 'withdraw(uint256,uint256)': { amountArg: 'amount', maxAmount: '5' }, 'withdraw(uint256)': { amountArg: 0 }, pause: {} });
    check({ 'transfer(address,uint256)': { amountArg: 'value', dailyCap: '5' } });
  });

  it('refuses a bare-name rule for an overloaded function, naming its overloads', () => {
    expect(refused({ withdraw: { amountArg: 0, maxAmount: '5' } })).to.equal(
      "POLICY_FILE: policies.0.contracts.0.methods.withdraw: withdraw is overloaded in Vault's ABI (withdraw(uint256), withdraw(uint256,uint256)): key each overload by its signature",
    );
    expect(refused({ withdraw: {} }), 'even without an amount').to.match(/withdraw is overloaded/);
  });

  it('refuses an amountArg that is not a parameter: a position past the last, or a name the function does not have', () => {
    expect(refused({ transfer: { amountArg: 2 } })).to.equal('POLICY_FILE: policies.0.contracts.0.methods.transfer: amountArg 2 is not a parameter of function transfer(address to, uint256 value)');
    expect(refused({ 'withdraw(uint256)': { amountArg: 'id' } })).to.match(/methods\.withdraw\(uint256\): amountArg id is not a parameter of function withdraw\(uint256 amount\)/);
    expect(refused({ pause: { amountArg: 0 } })).to.match(/amountArg 0 is not a parameter of function pause\(\)/);
  });

  it('refuses a name key and a signature key for one function (the signature rule applied: a cap under the name was silently ignored)', () => {
    expect(refused({ transfer: { amountArg: 1, maxAmount: '10' }, 'transfer(address to, uint256 value)': {} })).to.equal(
      'POLICY_FILE: policies.0.contracts.0.methods.transfer: names the same function of Vault as the key transfer(address,uint256), whose rule is the one that applies: keep one',
    );
  });

  it('does not check what nothing can be sent to: functions the ABI lacks, selectors, unconfigured contracts or chains', () => {
    check({ mint: { amountArg: 5 }, 'withdraw(address)': { amountArg: 'x' } });
    // A selector is no key a proposal is matched by (a name or a signature), so it governs no function.
    check({ [new Interface(abi).getFunction('transfer(address,uint256)')!.selector]: { amountArg: 9 } });
    check({ withdraw: { amountArg: 0 } }, '0x' + 'cd'.repeat(20));
    check({ withdraw: { amountArg: 0 } }, VAULT, 1);
  });
});
