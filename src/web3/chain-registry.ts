import { Interface, type AbstractSigner, type JsonRpcProvider } from 'ethers';
import { redactUrl } from '../core/errors';
import type { ResolvedChain } from './chains-file';
import { createRpcProvider } from './provider';
import { openWallet } from './wallets/open-wallet';
import { Web3Error } from './web3-error';

export type ContractHandle = { name: string; address: string; iface: Interface };

export type ChainHandle = {
  chainId: number;
  name: string;
  rpcUrl: string;
  provider: JsonRpcProvider;
  signer?: AbstractSigner;
  confirmations: number;
  contracts: ContractHandle[];
};

/**
 * The configured chains (CHAINS_FILE): one provider and one wallet per chain, and the
 * contracts the agent may address there, by name or address.
 */
export class ChainRegistry {
  private constructor(private readonly chains: Map<number, ChainHandle>) {}

  /** Connect providers and open wallets. Does not touch the network (the first call does). */
  static async open(specs: ResolvedChain[], env: NodeJS.ProcessEnv = process.env): Promise<ChainRegistry> {
    const map = new Map<number, ChainHandle>();
    for (const s of specs) {
      const provider = createRpcProvider(s.rpcUrl);
      map.set(s.chainId, {
        chainId: s.chainId,
        name: s.name ?? `chain-${s.chainId}`,
        rpcUrl: s.rpcUrl,
        provider,
        signer: s.wallet ? await openWallet(s.wallet, provider, env) : undefined,
        confirmations: s.confirmations,
        contracts: s.contracts.map((c) => ({ name: c.name, address: c.address, iface: new Interface(c.abi as never) })),
      });
    }
    return new ChainRegistry(map);
  }

  list(): ChainHandle[] {
    return [...this.chains.values()];
  }

  get(chainId: number): ChainHandle {
    const c = this.chains.get(chainId);
    if (!c) throw new Web3Error('CHAIN_NOT_CONFIGURED', `chain ${chainId} is not configured (CHAINS_FILE lists ${[...this.chains.keys()].join(', ') || 'none'})`);
    return c;
  }

  /**
   * The contract CHAINS_FILE configures on this chain by that name or address (both
   * case-insensitive; a name starts with a letter, so never reads as an address), or undefined
   * when it configures neither the contract nor the chain.
   * @example reg.find(31337, 'DemoToken') ?? reg.find(31337, '0x5fbd…0aa3')
   */
  find(chainId: number, ref: string): ContractHandle | undefined {
    const r = ref.toLowerCase();
    return this.chains.get(chainId)?.contracts.find((k) => k.address === r || k.name.toLowerCase() === r);
  }

  /** A contract of the chain by name (case-insensitive) or address; CONTRACT_NOT_CONFIGURED if it is not configured. */
  contract(chain: ChainHandle, ref: string): ContractHandle {
    const c = this.find(chain.chainId, ref);
    if (!c) throw new Web3Error('CONTRACT_NOT_CONFIGURED', `contract ${ref} is not configured on chain ${chain.chainId} (${redactUrl(chain.rpcUrl, { pathKeys: true })})`);
    return c;
  }

  close(): void {
    for (const c of this.chains.values()) c.provider.destroy();
  }
}
