import type { PendingEvent, RecordedEvent } from '../../core/envelope';
import type { Hex } from '../../core/hex';

/** A row of the `events` table. `body` is the JSON of the hashed content fields. */
export type EventRow = {
  position: number | string;
  id: string;
  stream: string;
  revision: number;
  type: string;
  version: number;
  tenant: string;
  occurred_at: string;
  hash: string;
  body: string;
};

export const EVENT_COLUMNS = ['position', 'id', 'stream', 'revision', 'type', 'version', 'tenant', 'occurred_at', 'hash', 'body'];

export function toRow(event: PendingEvent, revision: number, position: number): EventRow {
  const { hash, ...content } = event;
  return {
    position,
    id: event.id,
    stream: event.stream,
    revision,
    type: event.type,
    version: event.version,
    tenant: event.tenant,
    occurred_at: event.occurredAt,
    hash,
    body: JSON.stringify(content),
  };
}

export function fromRow(row: EventRow): RecordedEvent {
  // The parsed body is this call's own object: the stored fields are added to it (a spread into a
  // new object is V8's slow path on Node 20, microseconds an event). Same keys, same order.
  const event = JSON.parse(row.body) as RecordedEvent;
  event.hash = row.hash as Hex;
  event.revision = Number(row.revision);
  event.position = Number(row.position);
  return event;
}
