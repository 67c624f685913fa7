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
  const content = JSON.parse(row.body) as Omit<PendingEvent, 'hash'>;
  return { ...content, hash: row.hash as Hex, revision: Number(row.revision), position: Number(row.position) };
}
