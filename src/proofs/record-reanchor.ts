import { createEvent } from '../core/envelope';
import { WrongExpectedRevisionError } from '../core/errors';
import type { EventStore } from '../eventstore/port';
import type { BatchAnchoredData, BatchReanchoredData } from '../../events/proofs.events';
import { ANCHORER_ACTOR, AUDIT_TENANT, reanchorStreamName } from '../../events/audit-streams';
import type { AnchorRecord, BatchLog } from './batch-log';

export type RecordReanchorParameters = {
  /** The deployment's anchor stream, where the batch's BatchAnchored is. */
  anchorStream: string;
  /** The anchor found on chain now, confirmed as deep as a first anchor is. */
  anchor: BatchAnchoredData;
};

/**
 * Record `anchor` as batch `anchor.batchId`'s current anchor when the one the log names now is
 * another transaction or block (the chain lost it: ANCHORS_LOST, and the batch was anchored
 * again). Returns the BatchReanchored data written, or undefined when the log already names this
 * anchor (or the batch has no BatchAnchored yet: that is record()'s to write).
 *
 * Requires that the contract holds the batch's root through `anchor.txHash`: the contract takes a
 * batch id once, so a second anchor of it on chain means the first is gone from that chain.
 * Exactly once among anchorers: appended with the stream's expected revision; a conflict reads
 * the stream again, where the other anchorer's record of the same transaction ends it.
 */
export async function recordReanchor(store: EventStore, log: BatchLog, p: RecordReanchorParameters): Promise<BatchReanchoredData | undefined> {
  const stream = reanchorStreamName(p.anchorStream);
  for (let attempt = 0; ; attempt++) {
    const [current, appended] = await Promise.all([log.currentAnchors(p.anchorStream), log.reanchorRecords(p.anchorStream)]);
    const now: AnchorRecord | undefined = current[p.anchor.batchId];
    if (!now || (now.txHash === p.anchor.txHash && now.blockNumber === p.anchor.blockNumber)) return undefined;
    const data: BatchReanchoredData = { ...p.anchor, replacesTxHash: now.txHash, replacesBlockNumber: now.blockNumber };
    const event = createEvent({ type: 'BatchReanchored', stream, tenant: AUDIT_TENANT, actor: ANCHORER_ACTOR, data });
    try {
      await store.append(stream, [event], { expectedRevision: appended.length === 0 ? 'no_stream' : appended.length - 1 });
      return data;
    } catch (err) {
      // Another anchorer appended first (most likely this very anchor): read again and decide again.
      if (!(err instanceof WrongExpectedRevisionError) || attempt >= 5) throw err;
    }
  }
}
