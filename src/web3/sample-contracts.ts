import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContractFactory, type Signer } from 'ethers';
import type { Hex } from '../core/hex';

/** A compiled sample (scripts/compile-sample.ts builds it with solc-js, a dev dependency). */
export type SampleArtifact = { contractName: string; solcVersion: string; evmVersion: string; sourceSha256: Hex; abi: unknown[]; bytecode: Hex };

const SAMPLES_DIR = resolve(__dirname, '../../contracts/samples');
export const DEMO_TOKEN_SOURCE = resolve(SAMPLES_DIR, 'DemoToken.sol');
export const DEMO_TOKEN_ARTIFACT = resolve(SAMPLES_DIR, 'DemoToken.artifact.json');

/** The committed DemoToken artifact (no compiler at run time). */
export function loadDemoTokenArtifact(): SampleArtifact {
  return JSON.parse(readFileSync(DEMO_TOKEN_ARTIFACT, 'utf8')) as SampleArtifact;
}

/** Deploy DemoToken with `supply` base units credited to the deployer; resolves after it is mined. */
export async function deployDemoToken(deployer: Signer, supply: bigint): Promise<{ address: Hex; txHash: Hex }> {
  const { abi, bytecode } = loadDemoTokenArtifact();
  const contract = await new ContractFactory(abi as never, bytecode, deployer).deploy(supply);
  const receipt = await contract.deploymentTransaction()!.wait(1);
  if (!receipt || receipt.status !== 1) throw new Error('DemoToken deployment failed');
  return { address: (await contract.getAddress()).toLowerCase() as Hex, txHash: receipt.hash as Hex };
}
