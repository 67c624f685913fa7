import { Wallet } from 'ethers';
import type { Hex } from '../core/hex';
import { AnchorDeployNoFundsError } from '../proofs/errors';
import { DEFAULT_ADMIN_DELAY_SECONDS, formatAdminDelay } from '../web3/admin-delay';
import { deployAuditAnchor, type DeployAuditAnchorReturnType } from '../web3/audit-anchor';
import { isInsufficientFunds } from '../web3/insufficient-funds';
import { createRpcProvider } from '../web3/provider';
import type { Writer } from './print-checks';
import { waitUntilDeep } from './wait-until-deep';

export type ContractsDeployOptions = {
  rpc: string;
  /** Deployer key (ANCHORER_PRIVATE_KEY); unless `admin` / `anchorer` are set, it gets those roles. */
  privateKey: Hex;
  anchorer?: string;
  admin?: string;
  /** Admin handover delay in seconds (default 1 day). */
  adminDelaySeconds?: number;
  /** Blocks the deployment must be deep (its own included; 0 counts as 1) before ANCHOR_CONTRACT is printed (default 1). */
  confirmations?: number;
  /** While waiting for the confirmations: how often the chain is read (default 1 s), and how long without a new block before that is said (default 60 s). */
  pollMs?: number;
  stallMs?: number;
  out?: Writer;
};

/**
 * `openmcp contracts deploy --rpc URL`: deploy AuditAnchor from the committed artifact and
 * print the address to put in ANCHOR_CONTRACT, once the deployment is `confirmations` deep.
 */
export async function contractsDeploy(o: ContractsDeployOptions): Promise<DeployAuditAnchorReturnType> {
  const out = o.out ?? ((l: string) => console.log(l));
  const provider = createRpcProvider(o.rpc);
  try {
    const deployer = new Wallet(o.privateKey, provider);
    const delay = o.adminDelaySeconds ?? DEFAULT_ADMIN_DELAY_SECONDS;
    const d = await deployAuditAnchor(deployer, { admin: o.admin, anchorer: o.anchorer, adminDelaySeconds: delay }).catch(async (err: unknown) => {
      // A fresh deployer key on a testnet holds nothing: one line, not the node's answer with the whole signed transaction.
      if (!isInsufficientFunds(err)) throw err;
      const [balance, network] = await Promise.all([provider.getBalance(deployer.address), provider.getNetwork()]);
      throw new AnchorDeployNoFundsError(deployer.address.toLowerCase(), Number(network.chainId), balance, err);
    });
    out(`AuditAnchor deployed at ${d.address} on chain ${d.chainId} (tx ${d.txHash}, block ${d.blockNumber}, gas ${d.gasUsed})`);
    const confirmations = Math.max(1, o.confirmations ?? 1);
    if (confirmations > 1) {
      // A reorg can drop a shallow deployment, and its address (the deployer's and nonce's) still
      // comes back: printed, it would name no contract (the anchorer stops ANCHOR_CONTRACT_MISSING).
      out(`waiting for ${confirmations} confirmations before printing ANCHOR_CONTRACT`);
      const receipt = await waitUntilDeep(provider, { hash: d.txHash, confirmations, out, pollMs: o.pollMs, stallMs: o.stallMs });
      if (!receipt || receipt.status !== 1 || (await provider.getCode(d.address)) === '0x') throw new Error(`AuditAnchor deployment ${d.txHash} is no longer on chain at ${d.address} (a reorg?): deploy again`);
      d.blockNumber = receipt.blockNumber;
      out(`${confirmations} confirmations: block ${receipt.blockNumber}`);
    }
    out(`admin (grants and revokes anchorers): ${(o.admin ?? deployer.address).toLowerCase()}`);
    if (delay > 0) out(`admin handover delay: ${delay} s (${formatAdminDelay(delay)}): a new admin accepts no sooner after \`openmcp contracts admin begin\``);
    else {
      out(`admin handover delay: 0 s (none)`);
      out('note: without a delay a new admin can accept at once: a handover begun with a leaked admin key cannot be cancelled in time (docs/operations.md, "Rotating keys")');
    }
    out(`anchorer: ${(o.anchorer ?? deployer.address).toLowerCase()}`);
    // The anchorer's key lives in a running process; the admin's can stay offline.
    if ((o.admin ?? deployer.address).toLowerCase() === (o.anchorer ?? deployer.address).toLowerCase()) {
      out('note: one account holds both roles; a leaked anchorer key could then grant the anchorer role again after it is revoked (docs/operations.md, "Rotating keys")');
    }
    out(`ANCHOR_CONTRACT=${d.address}`);
    return d;
  } finally {
    provider.destroy();
  }
}
