import type { RecordedEvent } from '../src/core/envelope';

/**
 * True when `event` is at or below the revision a document already reflects. Under Kafka with
 * several partitions only the order within a stream is kept, so dedupe compares the stream
 * revision stored in the document, never one global position.
 */
export function alreadyApplied(current: { revision: number } | undefined, event: RecordedEvent): boolean {
  return current !== undefined && event.revision <= current.revision;
}
