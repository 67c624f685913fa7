import type { IHeaders, Message } from 'kafkajs';
import { computeEventHash, RecordedEventSchema, type RecordedEvent } from '../../core/envelope';
import { OpenMcpError } from '../../core/errors';

/** Header names of the topic contract (docs/consumers.md). */
export const EVENT_HEADERS = {
  id: 'event-id',
  type: 'event-type',
  version: 'event-version',
  hash: 'event-hash',
  tenant: 'tenant',
  contentType: 'content-type',
  correlationId: 'correlation-id',
} as const;

/** Key = stream, so one stream stays in one partition (murmur2) and in order; value = envelope JSON. */
export function toKafkaMessage(event: RecordedEvent): Message {
  const headers: IHeaders = {
    [EVENT_HEADERS.id]: event.id,
    [EVENT_HEADERS.type]: event.type,
    [EVENT_HEADERS.version]: String(event.version),
    [EVENT_HEADERS.hash]: event.hash,
    [EVENT_HEADERS.tenant]: event.tenant,
    [EVENT_HEADERS.contentType]: 'application/json',
  };
  if (event.correlationId !== undefined) headers[EVENT_HEADERS.correlationId] = event.correlationId;
  return { key: event.stream, value: JSON.stringify(event), headers };
}

/**
 * A message on the events topic that is not an event envelope, or one whose hash does not check
 * out: then named by the event it claims to be (schema-checked fields), so the operator can look
 * its position up in the event store (the gap repair reads it from there when no genuine copy comes).
 */
export class InvalidEventMessageError extends OpenMcpError {
  constructor(where: string, reason: string, event?: Pick<RecordedEvent, 'id' | 'stream' | 'revision' | 'position'>) {
    const claimed = event ? { id: event.id, stream: event.stream, revision: event.revision, position: event.position } : undefined;
    const named = claimed ? `event ${claimed.id} (${claimed.stream}#${claimed.revision}, position ${claimed.position}): ` : '';
    super('KAFKA_MESSAGE_INVALID', `${where}: not an event envelope: ${named}${reason}`, { status: 502, details: { where, ...claimed } });
  }
}

/**
 * Parse and check a message value: the envelope schema, and its hash over its content (every
 * event OpenMCP appends is hashed where it is built, createEvent, which refuses a float, so the
 * relay never publishes one that fails: such a copy was written by someone else, and applying it, or taking its id as seen, would put content the log
 * does not hold in the read models). Throws InvalidEventMessageError.
 */
export function fromKafkaMessage(value: Buffer | null, where: string): RecordedEvent {
  if (!value) throw new InvalidEventMessageError(where, 'empty value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new InvalidEventMessageError(where, (err as Error).message);
  }
  const parsed = RecordedEventSchema.safeParse(json);
  if (!parsed.success) throw new InvalidEventMessageError(where, parsed.error.issues[0]?.message ?? 'schema mismatch');
  // The value as parsed, not zod's copy: its record parser drops a key named `__proto__` (an own
  // key in JSON), and the event would read as other content than was hashed.
  const event = json as RecordedEvent;
  let computed: string;
  try {
    computed = computeEventHash(event);
  } catch (err) {
    // A float, say: createEvent refuses one, so the relay never published it.
    throw new InvalidEventMessageError(where, `its content has no canonical form, so no hash: ${(err as Error).message}`, event);
  }
  if (computed !== event.hash) throw new InvalidEventMessageError(where, `its hash ${event.hash} does not match its content (${computed})`, event);
  return event;
}
