import { jsonEvent, type EventData, type ResolvedEvent } from '@kurrent/kurrentdb-client';
import { contentOf, type PendingEvent, type RecordedEvent } from '../../core/envelope';

/**
 * The stored form of an envelope: KurrentDB's event id is the envelope id (a UUIDv7 is a UUID),
 * its type the envelope type, and its JSON data every hashed field plus the hash. Revision and
 * position are the server's to assign.
 */
export function toEventData(e: PendingEvent): EventData {
  return jsonEvent({ id: e.id, type: e.type, data: { ...contentOf(e), hash: e.hash } });
}

/** System records ($-prefixed type or stream) belong to the server, not to the product. */
export function isSystem(stream: string, type: string): boolean {
  return stream.startsWith('$') || type.startsWith('$');
}

/**
 * Rebuild the envelope from a read record, or null when the record is not one of ours (a system
 * event or another application's data). `position` is the commit position: KurrentDB positions
 * are byte offsets in the transaction log, so they increase in $all order but are not gap-free.
 */
export function fromResolved(resolved: ResolvedEvent): RecordedEvent | null {
  const ev = resolved.event;
  if (!ev || isSystem(ev.streamId, ev.type) || !ev.isJson || !ev.position) return null;
  const data = ev.data as Record<string, unknown> | null;
  if (!data || typeof data !== 'object' || data.id !== ev.id || typeof data.hash !== 'string') return null;
  const content = contentOf(data as unknown as PendingEvent);
  return {
    ...content,
    hash: data.hash as RecordedEvent['hash'],
    revision: Number(ev.revision),
    position: Number(ev.position.commit),
  } as RecordedEvent;
}
