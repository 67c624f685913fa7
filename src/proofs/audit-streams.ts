import type { Actor } from '../core/envelope';

/**
 * BatchSealed events live in one stream whose revision equals the batch id: appending batch n
 * with expectedRevision n-1 is what makes sealing exactly-once, even with two sealers or a crash.
 */
export const BATCH_STREAM = 'auditbatch-log';

/** Audit bookkeeping is written by the system tenant. */
export const AUDIT_TENANT = 'system';
export const SEALER_ACTOR: Actor = { kind: 'system', id: 'sealer' };
export const ANCHORER_ACTOR: Actor = { kind: 'system', id: 'anchorer' };

/** Where a batch is anchored. `genesisHash` tells a reset chain (same id and address) apart. */
export type AnchorTarget = { chainId: number; contract: string; genesisHash: string };

/** The start of every anchor stream's name (a stream prefix the stores can read by). */
export const ANCHOR_STREAM_PREFIX = 'auditanchor-';

/**
 * BatchAnchored events of one deployment, revision = batch id (exactly-once per deployment).
 * A restarted embedded chain is a new deployment, so all batches are anchored again there.
 */
export function anchorStreamName(t: AnchorTarget): string {
  return `${ANCHOR_STREAM_PREFIX}${t.chainId}.${t.contract.toLowerCase()}.${t.genesisHash.toLowerCase().slice(2, 18)}`;
}

export const BOOKKEEPING_TYPES: ReadonlySet<string> = new Set(['BatchSealed', 'BatchAnchored']);
