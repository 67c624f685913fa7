import type { Kafka } from 'kafkajs';
import { MAX_EVENT_BYTES } from '../../core/envelope';

export type EventsTopicSettings = {
  /** Partitions when the topic is created (default 6); fixed for the topic's life afterwards. */
  partitions?: number;
  /** Replication factor when the topic is created (default -1: the broker's default). */
  replicationFactor?: number;
  /** `max.message.bytes` when the topic is created (default MAX_EVENT_BYTES + 64 KiB). */
  maxMessageBytes?: number;
  /** The client's broker list (KAFKA_BROKERS): ensures of the same topic on the same brokers in this process run one at a time. */
  brokers?: string[];
};

/** Room for the envelope's extra fields, the headers and the record batch around an event of MAX_EVENT_BYTES. */
const MESSAGE_HEADROOM = 64 * 1024;

/**
 * Ensures in progress in this process, by broker list and topic: the tail of each key's queue
 * (it never rejects; a caller's own promise carries its error).
 */
const queues = new Map<string, Promise<void>>();

/**
 * Create the events topic if it is missing, with the settings of the topic contract, and return its
 * partition count. The relay and every KafkaBus consumer call it before anything else touches the
 * topic: a consumer subscribing first would otherwise have the broker auto-create it with its own
 * defaults (num.partitions, often 1, and a 1 MiB max.message.bytes).
 *
 * Calls for the same topic on the same `settings.brokers` run one after the other in this process:
 * the relay and the projector start together, and the one whose CreateTopics lost the race got
 * TOPIC_ALREADY_EXISTS, taken as done here but logged by kafkajs at ERROR ("Topic creation
 * errors"). Queued, the second lists the topic and sends nothing. Each call still does its own
 * ensure with its own client and settings, so it gets its own error (a refusal of one client's
 * credentials is not another's). Processes apart can still race: the loser's ERROR line is then
 * harmless, it finds the topic.
 * @example const partitions = await ensureEventsTopic(kafka, 'openmcp.events.v1', { brokers: ['kafka:9092'] })
 */
export async function ensureEventsTopic(kafka: Kafka, topic: string, settings: EventsTopicSettings = {}): Promise<number> {
  const key = `${[...(settings.brokers ?? [])].sort().join(',')}/${topic}`;
  const mine = (queues.get(key) ?? Promise.resolve()).then(() => ensureNow(kafka, topic, settings));
  const tail = mine.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  try {
    return await mine;
  } finally {
    // The last in the queue leaves no entry behind.
    if (queues.get(key) === tail) queues.delete(key);
  }
}

async function ensureNow(kafka: Kafka, topic: string, settings: EventsTopicSettings): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      // Another process may race here: kafkajs takes the loser's TOPIC_ALREADY_EXISTS as done.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: settings.partitions ?? 6,
            replicationFactor: settings.replicationFactor ?? -1,
            configEntries: [{ name: 'max.message.bytes', value: String(settings.maxMessageBytes ?? MAX_EVENT_BYTES + MESSAGE_HEADROOM) }],
          },
        ],
      });
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0].partitions.length;
  } finally {
    await admin.disconnect();
  }
}
