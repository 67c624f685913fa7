import { Wallet } from 'ethers';
import type { Hex } from '../core/hex';
import { deployAuditAnchor, type DeployAuditAnchorReturnType } from '../web3/audit-anchor';
import { createRpcProvider } from '../web3/provider';
import type { Writer } from './print-checks';

export type ContractsDeployOptions = {
  rpc: string;
  /** Deployer key (ANCHORER_PRIVATE_KEY); it becomes admin and, unless `anchorer` is set, anchorer. */
  privateKey: Hex;
  anchorer?: string;
  admin?: string;
  out?: Writer;
};

/**
 * `openmcp contracts deploy --rpc URL`: deploy AuditAnchor from the committed artifact and
 * print the address to put in ANCHOR_CONTRACT.
 */
export async function contractsDeploy(o: ContractsDeployOptions): Promise<DeployAuditAnchorReturnType> {
  const out = o.out ?? ((l: string) => console.log(l));
  const provider = createRpcProvider(o.rpc);
  try {
    const d = await deployAuditAnchor(new Wallet(o.privateKey, provider), { admin: o.admin, anchorer: o.anchorer });
    out(`AuditAnchor deployed at ${d.address} on chain ${d.chainId} (tx ${d.txHash}, block ${d.blockNumber}, gas ${d.gasUsed})`);
    out(`ANCHOR_CONTRACT=${d.address}`);
    return d;
  } finally {
    provider.destroy();
  }
}
