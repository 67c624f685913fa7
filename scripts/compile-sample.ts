import { readFileSync, writeFileSync } from 'node:fs';
import { sha256 } from '../src/core/hash';
import { toHex } from '../src/core/hex';
import { DEMO_TOKEN_ARTIFACT, DEMO_TOKEN_SOURCE, type SampleArtifact } from '../src/web3/sample-contracts';

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

// `npx tsx scripts/compile-sample.ts` regenerates DemoToken's artifact after a change to the sample
// (a build step: solc is a dev dependency, the gateway only loads the artifact).
if (require.main === module) {
  const a = compileSample(DEMO_TOKEN_SOURCE, 'DemoToken');
  writeFileSync(DEMO_TOKEN_ARTIFACT, `${JSON.stringify(a, null, 2)}\n`);
  console.log(`wrote ${DEMO_TOKEN_ARTIFACT} (solc ${a.solcVersion})`);
}
