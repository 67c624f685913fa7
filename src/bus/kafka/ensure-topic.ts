import type { Kafka } from 'kafkajs';
import { MAX_EVENT_BYTES } from '../../core/envelope';

export type EventsTopicSettings = {
  /** Partitions when the topic is created (default 6); fixed for the topic's life afterwards. */
  partitions?: number;
  /** Replication factor when the topic is created (default -1: the broker's default). */
  replicationFactor?: number;
  /** `max.message.bytes` when the topic is created (default MAX_EVENT_BYTES + 64 KiB). */
  maxMessageBytes?: number;
};

/** Room for the envelope's extra fields, the headers and the record batch around an event of MAX_EVENT_BYTES. */
const MESSAGE_HEADROOM = 64 * 1024;

/**
 * Create the events topic if it is missing, with the settings of the topic contract, and return its
 * partition count. The relay and every KafkaBus consumer call it before anything else touches the
 * topic: a consumer subscribing first would otherwise have the broker auto-create it with its own
 * defaults (num.partitions, often 1, and a 1 MiB max.message.bytes).
 * @example const partitions = await ensureEventsTopic(kafka, 'openmcp.events.v1')
 */
export async function ensureEventsTopic(kafka: Kafka, topic: string, settings: EventsTopicSettings = {}): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      // Two processes may race here: kafkajs takes the loser's TOPIC_ALREADY_EXISTS as done.
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
