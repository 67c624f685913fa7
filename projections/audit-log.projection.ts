import type { RecordedEvent } from '../src/core/envelope';

/** One row of the audit log read model: the full envelope, its audit seq and batch once sealed. */
export type AuditRow = {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  tenant: string;
  occurredAt: string;
  hash: string;
  envelope: RecordedEvent;
  seq?: number;
  batchId?: number;
};

export type BatchRange = { batchId: number; firstSeq: number; lastSeq: number };

/**
 * The audit log keeps every event. For the SQL event store the audit seq is the global position
 * (DESIGN.md); for KurrentDB the sealer assigns it, so `seqFromPosition` is false there and seq
 * stays empty (gap: the sealer's seq records are not projected yet).
 */
export function toAuditRow(e: RecordedEvent, seqFromPosition: boolean, batches: BatchRange[]): AuditRow {
  const seq = seqFromPosition ? e.position : undefined;
  const batch = seq === undefined ? undefined : batches.find((b) => b.firstSeq <= seq && seq <= b.lastSeq);
  return {
    position: e.position,
    id: e.id,
    stream: e.stream,
    revision: e.revision,
    type: e.type,
    tenant: e.tenant,
    occurredAt: e.occurredAt,
    hash: e.hash,
    envelope: e,
    seq,
    batchId: batch?.batchId,
  };
}

/** The seq range a BatchSealed event covers, or undefined for any other event. */
export function sealedRange(e: RecordedEvent): BatchRange | undefined {
  if (e.type !== 'BatchSealed') return undefined;
  const d = e.data as Record<string, unknown>;
  return { batchId: Number(d.batchId), firstSeq: Number(d.firstSeq), lastSeq: Number(d.lastSeq) };
}
