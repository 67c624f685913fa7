import type { RecordedEvent } from '../src/core/envelope';
import { ANCHOR_STREAM_PREFIX, REANCHOR_STREAM_PREFIX } from '../events/audit-streams';
import type { DocumentProjection } from './projection';

export type BatchDoc = {
  batchId: number;
  firstSeq?: number;
  lastSeq?: number;
  root?: string;
  prevRoot?: string;
  signer?: string;
  signature?: string;
  sealedAt?: string;
  chainId?: number;
  contract?: string;
  txHash?: string;
  blockNumber?: number;
  gasUsed?: string;
  anchoredAt?: string;
  /**
   * The event the anchor shown comes from: its deployment (its anchor stream's name past the
   * prefix) and its log position. Absent in a row written before release 2026-12-11.
   */
  anchorOf?: AnchorOrigin;
};

export type AnchorOrigin = { deployment: string; position: number };

/** The deployment an anchor event belongs to: its stream's name past `auditanchor-` or `auditreanchor-`. */
function originOf(e: RecordedEvent): AnchorOrigin {
  const prefix = e.stream.startsWith(REANCHOR_STREAM_PREFIX) ? REANCHOR_STREAM_PREFIX : ANCHOR_STREAM_PREFIX;
  return { deployment: e.stream.startsWith(prefix) ? e.stream.slice(prefix.length) : e.stream, position: e.position };
}

/**
 * Whether a BatchReanchored from `from` replaces the anchor `doc` shows: a later one of the same
 * deployment by log position, whatever arrived before (one between may never arrive: a bus that
 * lost it); without a known origin (a row of an older release), the anchor it names as replaced.
 */
function replacesShown(doc: BatchDoc, from: AnchorOrigin, replacesTxHash: unknown): boolean {
  if (!doc.anchorOf) return doc.txHash === replacesTxHash;
  return doc.anchorOf.deployment === from.deployment && from.position > doc.anchorOf.position;
}

type D = Record<string, unknown>;

/**
 * Sealed and anchored batches, keyed by batch id. The seal and the anchor may sit in different
 * streams (sealer, anchorer) and so arrive in either order under Kafka; each event fills its own
 * fields once, which makes `evolve` order-independent and idempotent. A BatchReanchored (the chain
 * lost the anchor, the batch was anchored again, or its transaction mined again in another block)
 * replaces an earlier anchor of its deployment by log position, not by arrival.
 */
export const batchesProjection: DocumentProjection<BatchDoc> = {
  name: 'batches',
  canHandle: (e) => e.type === 'BatchSealed' || e.type === 'BatchAnchored' || e.type === 'BatchReanchored',
  documentId: (e) => String((e.data as D).batchId),
  evolve(current, e) {
    const d = e.data as D;
    const doc: BatchDoc = current ?? { batchId: Number(d.batchId) };
    if (e.type === 'BatchSealed') {
      if (doc.root !== undefined) return current;
      return {
        ...doc,
        firstSeq: Number(d.firstSeq),
        lastSeq: Number(d.lastSeq),
        root: d.root as string,
        prevRoot: d.prevRoot as string | undefined,
        signer: d.signer as string | undefined,
        signature: d.signature as string | undefined,
        sealedAt: e.occurredAt,
      };
    }
    // A re-anchoring (after ANCHORS_LOST) comes after its deployment's BatchAnchored and earlier
    // re-anchorings in the log; one arriving before the BatchAnchored is taken, and that
    // BatchAnchored then ignored below. Replayed, or older than the one shown: ignored too.
    const from = originOf(e);
    if (e.type === 'BatchReanchored' && doc.txHash !== undefined && !replacesShown(doc, from, d.replacesTxHash)) return current;
    if (e.type === 'BatchAnchored' && doc.txHash !== undefined) return current;
    return {
      ...doc,
      chainId: d.chainId === undefined ? undefined : Number(d.chainId),
      contract: d.contract as string | undefined,
      txHash: d.txHash as string,
      blockNumber: d.blockNumber === undefined ? undefined : Number(d.blockNumber),
      gasUsed: d.gasUsed === undefined ? undefined : String(d.gasUsed),
      anchoredAt: e.occurredAt,
      anchorOf: from,
    };
  },
};
