import { createEvent } from '../core/envelope';
import type { EventStore } from '../eventstore/port';
import type { BatchAnchorSentData } from '../../events/proofs.events';
import { ANCHORER_ACTOR, AUDIT_TENANT, anchorSentStreamName } from '../../events/audit-streams';

/**
 * Append BatchAnchorSent for an anchor transaction on the way, so that the next run (or leader)
 * takes it on. Appended at any revision: the stream's order is the order of sends, and only a
 * leader appends (the fenced event store refuses a deposed one, as it refuses its BatchAnchored).
 */
export async function recordAnchorSent(store: EventStore, anchorStream: string, data: BatchAnchorSentData): Promise<void> {
  const stream = anchorSentStreamName(anchorStream);
  await store.append(stream, [createEvent({ type: 'BatchAnchorSent', stream, tenant: AUDIT_TENANT, actor: ANCHORER_ACTOR, data })], { expectedRevision: 'any' });
}

/** The latest BatchAnchorSent of `anchorStream`'s deployment (undefined: none was ever recorded). */
export async function lastAnchorSent(store: EventStore, anchorStream: string): Promise<BatchAnchorSentData | undefined> {
  const [last] = await store.readStream(anchorSentStreamName(anchorStream), { direction: 'backwards', maxCount: 1 });
  return last?.data as BatchAnchorSentData | undefined;
}
