/**
 * The package's public surface: the typed SDK for the REST API, the event envelope and hashing,
 * the event catalog, and the proof verifier — what clients, consumers and auditors build on.
 */
export * from './sdk';
export { computeEventHash, verifyEventHash, contentOf, type RecordedEvent, type PendingEvent, type EventContent } from './core/envelope';
export { canonicalJson } from './core/canonical';
export { catalog } from '../events';
export { verifyProofFile } from './proofs/verify-proof';
export type { ProofFile } from './proofs/proof-file';
