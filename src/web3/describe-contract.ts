import type { FunctionFragment } from 'ethers';
import type { ChainRegistry } from './chain-registry';
import { readContract } from './contract-calls';

/** What an approver needs besides a proposal's raw fields: whose contract, which function, which token. */
export type ContractDescription = {
  chainId: number;
  address: string;
  /** The name CHAINS_FILE gives it. */
  name: string;
  /** The method's signature with parameter names, e.g. `transfer(address to, uint256 value)`; its 4-byte selector. */
  method?: { signature: string; selector: string; inputs: { name: string; type: string }[] };
  /** When the contract answers ERC-20's `symbol()` and `decimals()`. */
  token?: { symbol: string; decimals: number };
};

export type DescribeContractParameters = { chainId: number; address: string; method?: string };

/**
 * Describe a configured contract (undefined when CHAINS_FILE does not list it). Token metadata is
 * read once per contract over JSON-RPC and remembered; a node that cannot answer leaves it out
 * rather than failing the description. Example:
 * `const describe = createContractDescriber(chains); await describe({ chainId: 1, address, method: 'transfer' })`.
 */
export function createContractDescriber(reg: ChainRegistry): (p: DescribeContractParameters) => Promise<ContractDescription | undefined> {
  const tokens = new Map<string, Promise<ContractDescription['token']>>();
  const tokenOf = (chainId: number, address: string) => {
    const key = `${chainId}:${address}`;
    let t = tokens.get(key);
    if (!t) {
      t = Promise.all([readContract(reg, { chainId, contract: address, method: 'symbol' }), readContract(reg, { chainId, contract: address, method: 'decimals' })]).then(
        ([s, d]) => ({ symbol: String(s.result[0]), decimals: Number(d.result[0]) }),
        () => (tokens.delete(key), undefined),
      );
      tokens.set(key, t);
    }
    return t;
  };
  return async ({ chainId, address, method }) => {
    const c = reg.find(chainId, address);
    if (!c) return undefined;
    let f: FunctionFragment | null = null;
    try {
      // A bare overloaded name is ambiguous here, as it is when the agent encodes the call; the page asks by the proposal's signature when it has one.
      f = method ? c.iface.getFunction(method) : null;
    } catch {
      f = null;
    }
    const isToken = c.iface.getFunction('symbol()') !== null && c.iface.getFunction('decimals()') !== null;
    const token = isToken ? await tokenOf(chainId, c.address) : undefined;
    return {
      chainId,
      address: c.address,
      name: c.name,
      ...(f
        ? {
            method: {
              signature: `${f.name}(${f.inputs.map((i) => i.format('full')).join(', ')})`,
              selector: f.selector,
              inputs: f.inputs.map((i) => ({ name: i.name, type: i.format('sighash') })),
            },
          }
        : {}),
      ...(token ? { token } : {}),
    };
  };
}
