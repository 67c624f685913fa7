import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256 } from '../core/hash';
import { toHex, type Hex } from '../core/hex';

/**
 * Everything needed to deploy and call AuditAnchor without a compiler at run time (the compiler,
 * solc-js, is a dev dependency: scripts/compile-audit-anchor.ts rebuilds the artifact).
 */
export type AuditAnchorArtifact = {
  contractName: 'AuditAnchor';
  solcVersion: string;
  evmVersion: string;
  /** SHA-256 of contracts/AuditAnchor.sol the artifact was built from, to detect a stale artifact. */
  sourceSha256: Hex;
  abi: unknown[];
  bytecode: Hex;
};

export const CONTRACTS_DIR = resolve(__dirname, '../../contracts');
export const AUDIT_ANCHOR_SOURCE = resolve(CONTRACTS_DIR, 'AuditAnchor.sol');
export const AUDIT_ANCHOR_ARTIFACT = resolve(CONTRACTS_DIR, 'AuditAnchor.artifact.json');
export const EVM_VERSION = 'cancun';

export function auditAnchorSourceHash(): Hex {
  return toHex(sha256(readFileSync(AUDIT_ANCHOR_SOURCE)));
}

/** The committed artifact (contracts/AuditAnchor.artifact.json); no compiler needed at run time. */
export function loadAuditAnchorArtifact(): AuditAnchorArtifact {
  return JSON.parse(readFileSync(AUDIT_ANCHOR_ARTIFACT, 'utf8')) as AuditAnchorArtifact;
}
