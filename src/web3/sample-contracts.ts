import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContractFactory, type Signer } from 'ethers';
import { sha256 } from '../core/hash';
import { toHex, type Hex } from '../core/hex';

export type SampleArtifact = { contractName: string; solcVersion: string; evmVersion: string; sourceSha256: Hex; abi: unknown[]; bytecode: Hex };

const SAMPLES_DIR = resolve(__dirname, '../../contracts/samples');
export const DEMO_TOKEN_SOURCE = resolve(SAMPLES_DIR, 'DemoToken.sol');
export const DEMO_TOKEN_ARTIFACT = resolve(SAMPLES_DIR, 'DemoToken.artifact.json');

/** Compile one self-contained sample with solc-js (offline), same settings as AuditAnchor. */
export function compileSample(sourcePath: string, contractName: string): SampleArtifact {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require('solc');
  const source = readFileSync(sourcePath, 'utf8');
  const input = {
    language: 'Solidity',
    sources: { [`${contractName}.sol`]: { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n')}`);
  const c = out.contracts[`${contractName}.sol`][contractName];
  return { contractName, solcVersion: solc.version(), evmVersion: 'cancun', sourceSha256: toHex(sha256(Buffer.from(source))), abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

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

// `tsx src/web3/sample-contracts.ts` regenerates the artifact after a change to the sample.
if (require.main === module) {
  const a = compileSample(DEMO_TOKEN_SOURCE, 'DemoToken');
  writeFileSync(DEMO_TOKEN_ARTIFACT, `${JSON.stringify(a, null, 2)}\n`);
  console.log(`wrote ${DEMO_TOKEN_ARTIFACT} (solc ${a.solcVersion})`);
}
