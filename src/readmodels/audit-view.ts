import type { RecordedEvent } from '../core/envelope';
import type { AuditEventView } from './port';

/** An audit row (`body`, `seq`, `batch_id`) as the API lists it: the envelope, with its seq and batch once sealed. */
export function auditView(r: Record<string, unknown>): AuditEventView {
  const v: AuditEventView = JSON.parse(String(r.body)) as RecordedEvent;
  if (r.seq !== null && r.seq !== undefined) v.seq = Number(r.seq);
  if (r.batch_id !== null && r.batch_id !== undefined) v.batchId = Number(r.batch_id);
  return v;
}
