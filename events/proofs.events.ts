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
    ...BatchAnchored.schema.shape,
    /** The anchor this one replaces, as the batch's BatchAnchored (or previous BatchReanchored) named it. */
    replacesTxHash: digest.txHash,
    replacesBlockNumber: safeInt,
  }),
  'The chain lost the anchor of batch batchId that the log recorded (a reorg deeper than CHAIN_CONFIRMATIONS, a node that lost its state: ANCHORS_LOST) and the same root is anchored again on the same contract: AuditAnchor.anchor() in transaction txHash, block blockNumber, mined and confirmed. From this event on it is the batch\'s anchor (proofs and GET /v1/batches name it); the BatchAnchored (or earlier BatchReanchored) naming replacesTxHash in replacesBlockNumber stays in the log as written. Appended to the stream auditreanchor-<the anchor stream\'s suffix>, one event per re-anchoring, in order.',
);

const wei = z.string().regex(/^(0|[1-9][0-9]*)$/);

export const BatchAnchorSent = defineEvent(
  'BatchAnchorSent',
  1,
  z.strictObject({
    ...BatchAnchored.schema.pick({ batchId: true, firstSeq: true, lastSeq: true, root: true, chainId: true, contract: true }).shape,
    /** The anchorer account that signed it, lowercase. */
    account: address,
    nonce: safeInt,
    txHash: digest.txHash,
    /** Its fees in wei per gas, decimal: maxFeePerGas and maxPriorityFeePerGas (EIP-1559), or gasPrice. */
    maxFeePerGas: wei.optional(),
    maxPriorityFeePerGas: wei.optional(),
    gasPrice: wei.optional(),
    /** The send on the same nonce this one replaces (sent again with higher fees, or as the node dropped it). */
    replacesTxHash: digest.txHash.optional(),
  }),
  'The anchorer has an anchor transaction on the way that is not mined yet: AuditAnchor.anchor() of batch batchId sent by account on nonce nonce as txHash with these fees. Recorded when the transaction is late (not mined within the anchorer\'s tx timeout), when the anchorer stops while it waits for it (a drain, a leader term that ended), and at each send of it again (replacesTxHash), so that the next run or leader takes it on as its own: waits for it and sends it again with higher fees while it stays stuck. The stream auditanchorsent-<the anchor stream\'s suffix> holds them in order; the last one is the latest send. BatchAnchored (or BatchReanchored) records the outcome.',
);

export const proofEvents = [BatchSealed, BatchAnchored, BatchReanchored, BatchAnchorSent];

export type BatchSealedData = z.infer<typeof BatchSealed.schema>;
export type BatchAnchoredData = z.infer<typeof BatchAnchored.schema>;
export type BatchReanchoredData = z.infer<typeof BatchReanchored.schema>;
export type BatchAnchorSentData = z.infer<typeof BatchAnchorSent.schema>;
