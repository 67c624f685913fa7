import type { Actor } from '../src/core/envelope';

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

/** The start of every re-anchor stream's name (not under ANCHOR_STREAM_PREFIX: it holds no BatchAnchored). */
export const REANCHOR_STREAM_PREFIX = 'auditreanchor-';

/**
 * BatchReanchored events of the deployment of `anchorStream`, in the order they were appended (any
 * number per batch; the last one of a batch is its current anchor). A stream of its own: the anchor
 * stream's revision is its batch id, which a second record of a batch cannot keep.
 */
export function reanchorStreamName(anchorStream: string): string {
  if (!anchorStream.startsWith(ANCHOR_STREAM_PREFIX)) throw new Error(`not an anchor stream: ${anchorStream}`);
  return REANCHOR_STREAM_PREFIX + anchorStream.slice(ANCHOR_STREAM_PREFIX.length);
}

/** The start of every stream of anchor transactions on the way (BatchAnchorSent). */
export const ANCHOR_SENT_STREAM_PREFIX = 'auditanchorsent-';

/** BatchAnchorSent events of the deployment of `anchorStream`, in order: the last one is the latest send. */
export function anchorSentStreamName(anchorStream: string): string {
  if (!anchorStream.startsWith(ANCHOR_STREAM_PREFIX)) throw new Error(`not an anchor stream: ${anchorStream}`);
  return ANCHOR_SENT_STREAM_PREFIX + anchorStream.slice(ANCHOR_STREAM_PREFIX.length);
}

export const BOOKKEEPING_TYPES: ReadonlySet<string> = new Set(['BatchSealed', 'BatchAnchored', 'BatchReanchored', 'BatchAnchorSent']);
