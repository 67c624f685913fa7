import { z } from 'zod';
import { defineEvent } from './catalog';
import { digest } from './digest-fields';

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const address = z.string().regex(/^0x[0-9a-f]{40}$/);

export const BatchSealed = defineEvent(
  'BatchSealed',
  1,
  z.strictObject({
    batchId: safeInt,
    firstSeq: safeInt,
    lastSeq: safeInt,
    /** Store positions of the first and last event, so seq can be re-derived on any store. */
    firstPosition: safeInt,
    lastPosition: safeInt,
    root: hex32,
    prevRoot: hex32,
    signer: address,
    signature: z.string().regex(/^0x[0-9a-f]{130}$/),
  }),
  'The sealer closed audit batch batchId over seqs firstSeq..lastSeq and signed its head {batchId, firstSeq, lastSeq, root, prevRoot}.',
);

export const BatchAnchored = defineEvent(
  'BatchAnchored',
  1,
  z.strictObject({
    batchId: safeInt,
    firstSeq: safeInt,
    lastSeq: safeInt,
    root: hex32,
    chainId: safeInt,
    contract: address,
    txHash: digest.txHash,
    blockNumber: safeInt,
    gasUsed: safeInt,
  }),
  'The anchorer recorded the batch root on chain: AuditAnchor.anchor() was mined and confirmed.',
);

export const BatchReanchored = defineEvent(
  'BatchReanchored',
  1,
  z.strictObject({
    batchId: safeInt,
    firstSeq: safeInt,
    lastSeq: safeInt,
    root: hex32,
    chainId: safeInt,
    contract: address,
    txHash: digest.txHash,
    blockNumber: safeInt,
    gasUsed: safeInt,
    /** The anchor this one replaces, as the batch's BatchAnchored (or previous BatchReanchored) named it. */
    replacesTxHash: digest.txHash,
    replacesBlockNumber: safeInt,
  }),
  'The chain lost the anchor of batch batchId that the log recorded (a reorg deeper than CHAIN_CONFIRMATIONS, a node that lost its state: ANCHORS_LOST) and the same root is anchored again on the same contract: AuditAnchor.anchor() in transaction txHash, block blockNumber, mined and confirmed. From this event on it is the batch\'s anchor (proofs and GET /v1/batches name it); the BatchAnchored (or earlier BatchReanchored) naming replacesTxHash in replacesBlockNumber stays in the log as written. Appended to the stream auditreanchor-<the anchor stream\'s suffix>, one event per re-anchoring, in order.',
);

export const proofEvents = [BatchSealed, BatchAnchored, BatchReanchored];

export type BatchSealedData = z.infer<typeof BatchSealed.schema>;
export type BatchAnchoredData = z.infer<typeof BatchAnchored.schema>;
export type BatchReanchoredData = z.infer<typeof BatchReanchored.schema>;
