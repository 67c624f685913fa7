import { Contract, ContractFactory, type ContractRunner, type Signer } from 'ethers';
import { loadAuditAnchorArtifact } from './audit-anchor-artifact';
import type { Hex } from '../core/hex';
import { DEFAULT_ADMIN_DELAY_SECONDS } from './admin-delay';

/** A handle on a deployed AuditAnchor (ABI from the committed artifact). */
export function auditAnchorAt(address: string, runner: ContractRunner): Contract {
  return new Contract(address, loadAuditAnchorArtifact().abi as never, runner);
}

export type DeployAuditAnchorParameters = {
  /** Receives DEFAULT_ADMIN_ROLE; defaults to the deployer. */
  admin?: string;
  /** Receives ANCHORER_ROLE; defaults to the deployer. */
  anchorer?: string;
  /** Seconds a new admin waits between the handover's begin and its accept; default DEFAULT_ADMIN_DELAY_SECONDS (1 day). */
  adminDelaySeconds?: number;
};

export type DeployAuditAnchorReturnType = { address: Hex; txHash: Hex; blockNumber: number; gasUsed: number; chainId: number };

/** Deploy AuditAnchor from the committed artifact and wait for one confirmation. */
export async function deployAuditAnchor(deployer: Signer, p: DeployAuditAnchorParameters = {}): Promise<DeployAuditAnchorReturnType> {
  const { abi, bytecode } = loadAuditAnchorArtifact();
  const me = await deployer.getAddress();
  const factory = new ContractFactory(abi as never, bytecode, deployer);
  const contract = await factory.deploy(p.admin ?? me, p.anchorer ?? me, p.adminDelaySeconds ?? DEFAULT_ADMIN_DELAY_SECONDS);
  const receipt = await contract.deploymentTransaction()!.wait(1);
  if (!receipt || receipt.status !== 1) throw new Error('AuditAnchor deployment failed');
  const network = await deployer.provider!.getNetwork();
  return {
    address: (await contract.getAddress()).toLowerCase() as Hex,
    txHash: receipt.hash as Hex,
    blockNumber: receipt.blockNumber,
    gasUsed: Number(receipt.gasUsed),
    chainId: Number(network.chainId),
  };
}
