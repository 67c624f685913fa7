import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AUDIT_ANCHOR_ARTIFACT, AUDIT_ANCHOR_SOURCE, auditAnchorSourceHash, EVM_VERSION, type AuditAnchorArtifact } from '../src/web3/audit-anchor-artifact';

/**
 * Compile AuditAnchor.sol with the npm solc package (solc-js, offline; a few seconds on a slow
 * machine). Imports resolve from node_modules, as in Hardhat.
 */
export function compileAuditAnchor(): AuditAnchorArtifact {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require('solc');
  const nodeModules = resolve(dirname(require.resolve('@openzeppelin/contracts/package.json')), '../..');
  const input = {
    language: 'Solidity',
    sources: { 'contracts/AuditAnchor.sol': { content: readFileSync(AUDIT_ANCHOR_SOURCE, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const findImports = (path: string) => {
    try {
      return { contents: readFileSync(resolve(nodeModules, path), 'utf8') };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n')}`);
  const c = out.contracts['contracts/AuditAnchor.sol'].AuditAnchor;
  return {
    contractName: 'AuditAnchor',
    solcVersion: solc.version(),
    evmVersion: EVM_VERSION,
    sourceSha256: auditAnchorSourceHash(),
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
  };
}

// `npx tsx scripts/compile-audit-anchor.ts` regenerates the artifact after a change to the contract
// (a build step: solc and @openzeppelin/contracts are dev dependencies, the gateway only loads the artifact).
if (require.main === module) {
  const artifact = compileAuditAnchor();
  writeFileSync(AUDIT_ANCHOR_ARTIFACT, `${JSON.stringify(artifact, null, 2)}\n`);
  console.log(`wrote ${AUDIT_ANCHOR_ARTIFACT} (solc ${artifact.solcVersion}, ${(artifact.bytecode.length - 2) / 2} bytes)`);
}
