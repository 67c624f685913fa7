import { OpenMcpError } from '../core/errors';
import { kafkaErrorType } from '../bus/kafka/kafka-error-type';

/** Kafka error types meaning "this request is too big", after which a smaller one may pass. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** An error raised by kafkajs (its classes are all named KafkaJS…). */
export function isKafkaError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.startsWith('KafkaJS');
}

export function isTooLarge(err: unknown): boolean {
  return TOO_LARGE.has(kafkaErrorType(err) ?? '');
}

/**
 * One event whose message alone is over the topic's `max.message.bytes`: the relay cannot publish
 * it, and must not skip it (consumers would miss an event of the log), so it stops there and retries
 * until the limit is raised.
 */
export class RelayEventTooLargeError extends OpenMcpError {
  constructor(topic: string, event: { id: string; position: number; type: string }, bytes: number, cause: unknown) {
    super(
      'RELAY_EVENT_TOO_LARGE',
      `relay: ${event.type} event ${event.id} at position ${event.position} (${bytes} bytes) is over the max.message.bytes of topic ${topic}; nothing after it is published until the limit is raised`,
      { status: 500, cause, details: { topic, eventId: event.id, position: event.position, bytes } },
    );
  }
}

/** Kafka refused or failed a produce request (authorization, unknown topic, broker down…); retried. */
export class RelayPublishError extends OpenMcpError {
  constructor(topic: string, from: number, cause: unknown) {
    const type = kafkaErrorType(cause);
    super('RELAY_PUBLISH_FAILED', `relay: publishing to ${topic} from position ${from} failed${type ? ` (${type})` : ''}: ${(cause as Error)?.message ?? String(cause)}`, {
      status: 503,
      cause,
      details: { topic, position: from, ...(type ? { kafkaError: type } : {}) },
    });
  }
}

/** The relay could not find or create its topic (broker down, topic creation refused by ACL or policy). */
export class RelayTopicError extends OpenMcpError {
  constructor(topic: string, cause: unknown) {
    const type = kafkaErrorType(cause);
    super('RELAY_TOPIC_UNAVAILABLE', `relay: cannot find or create topic ${topic}${type ? ` (${type})` : ''}: ${(cause as Error)?.message ?? String(cause)}`, {
      status: 503,
      cause,
      details: { topic, ...(type ? { kafkaError: type } : {}) },
    });
  }
}

/** The topic's partition count is not the one the relay first published with (see checkPartitionCount). */
export class RelayPartitionsChangedError extends OpenMcpError {
  constructor(topic: string, expected: number, actual: number) {
    super(
      'RELAY_PARTITIONS_CHANGED',
      `relay: topic ${topic} has ${actual} partitions, it had ${expected} when the relay first published to it: streams would move to other partitions and lose their order; publish to a new topic, or accept that by deleting checkpoint relay:${topic}:partitions`,
      { status: 500, details: { topic, expected, actual } },
    );
  }
}

/** The product's own error somewhere in kafkajs' wrapping (a partitioner's error comes back wrapped). */
export function ownError(err: unknown): OpenMcpError | undefined {
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof OpenMcpError) return e;
  }
  return undefined;
}
