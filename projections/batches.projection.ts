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
};

type D = Record<string, unknown>;

/**
 * Sealed and anchored batches, keyed by batch id. The seal and the anchor may sit in different
 * streams (sealer, anchorer) and so arrive in either order under Kafka; each event fills its own
 * fields once, which makes `evolve` order-independent and idempotent. A BatchReanchored (the chain
 * lost the anchor, the batch was anchored again) replaces the anchor it names.
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
    // A re-anchoring (after ANCHORS_LOST) replaces the anchor it names, and comes after it in its own
    // stream; one arriving before the BatchAnchored it replaces is taken, and that BatchAnchored then
    // ignored below. Replayed, it names an anchor the document no longer has: ignored too.
    if (e.type === 'BatchReanchored' && doc.txHash !== undefined && doc.txHash !== d.replacesTxHash) return current;
    if (e.type === 'BatchAnchored' && doc.txHash !== undefined) return current;
    return {
      ...doc,
      chainId: d.chainId === undefined ? undefined : Number(d.chainId),
      contract: d.contract as string | undefined,
      txHash: d.txHash as string,
      blockNumber: d.blockNumber === undefined ? undefined : Number(d.blockNumber),
      gasUsed: d.gasUsed === undefined ? undefined : String(d.gasUsed),
      anchoredAt: e.occurredAt,
    };
  },
};
