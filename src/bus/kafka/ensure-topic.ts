import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, type Admin, type KafkaConfig, type LogEntry } from 'kafkajs';
import { MAX_EVENT_BYTES } from '../../core/envelope';
import { holdErrors } from './held-errors';

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

/** How long a topic another process just created may take to get its leaders (kafkajs's own wait after creating one). */
const LEADERS_WAIT_MS = 10_000;
const LEADERS_POLL_MS = 100;

/** kafkajs 2.2.4's text for LEADER_NOT_AVAILABLE (5), the only trace of the code in its log line. */
const LEADER_ELECTION = 'There is no leader for this topic-partition as we are in the middle of a leadership election';

/** The line kafkajs logs for a CreateTopics answered with an error: for a lost race, TOPIC_ALREADY_EXISTS. */
const isCreateTopicsAnswer = (e: LogEntry) => e.log.message.startsWith('Response CreateTopics(');
/** A Metadata answer while a new topic's leaders are elected, which kafkajs logs and then asks again. */
const isLeaderElection = (e: LogEntry) => e.log.message.startsWith('Response Metadata(') && e.log.error === LEADER_ELECTION;

/**
 * Ensures in progress in this process, by broker list and topic: the tail of each key's queue
 * (it never rejects; a caller's own promise carries its error).
 */
const queues = new Map<string, Promise<void>>();

/**
 * Create the events topic if it is missing, with the settings of the topic contract (partitions,
 * `max.message.bytes`, `cleanup.policy=delete`), and return its
 * partition count. The relay and every KafkaBus consumer call it before anything else touches the
 * topic: a consumer subscribing first would otherwise have the broker auto-create it with its own
 * defaults (num.partitions, often 1, and a 1 MiB max.message.bytes).
 *
 * `kafka` is the caller's client configuration; the ensure builds its own client from it, whose
 * ERROR lines wait until the outcome is known (holdErrors). Two processes starting together both
 * find the topic missing and both create it: the loser's CreateTopics is answered
 * TOPIC_ALREADY_EXISTS, which kafkajs takes as done but logs at ERROR ("Topic creation errors"),
 * and comes back at once, maybe before the winner's topic has leaders (its Metadata then answers
 * LEADER_NOT_AVAILABLE, also logged at ERROR). So the loser waits for the leaders as the winner
 * does, and on success neither answer is logged; any other ERROR line is, and all of them when
 * the ensure fails.
 *
 * Calls for the same topic on the same brokers (`kafka.brokers`) run one after the other in this
 * process: the relay and the projector start together, and queued, the second lists the topic and
 * sends nothing. Each call still does its own ensure with its own client and settings, so it gets
 * its own error (a refusal of one client's credentials is not another's).
 * @example const partitions = await ensureEventsTopic({ brokers: ['kafka:9092'] }, 'openmcp.events.v1')
 */
export async function ensureEventsTopic(kafka: KafkaConfig, topic: string, settings: EventsTopicSettings = {}): Promise<number> {
  const key = `${Array.isArray(kafka.brokers) ? [...kafka.brokers].sort().join(',') : ''}/${topic}`;
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

async function ensureNow(kafka: KafkaConfig, topic: string, settings: EventsTopicSettings): Promise<number> {
  const log = holdErrors(kafka);
  const admin = new Kafka(log.config).admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      // Another process may race here: kafkajs resolves false when every topic came back TOPIC_ALREADY_EXISTS.
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: settings.partitions ?? 6,
            replicationFactor: settings.replicationFactor ?? -1,
            configEntries: [
              { name: 'max.message.bytes', value: String(settings.maxMessageBytes ?? MAX_EVENT_BYTES + MESSAGE_HEADROOM) },
              // Never compacted, whatever the brokers' log.cleanup.policy: the key is the stream,
              // and compaction would keep only each stream's last event (docs/consumers.md).
              { name: 'cleanup.policy', value: 'delete' },
            ],
          },
        ],
      });
      if (!created) log.drop(isCreateTopicsAnswer);
    }
    const partitions = await ledPartitionCount(admin, topic);
    log.drop(isLeaderElection);
    return partitions;
  } finally {
    log.release();
    await admin.disconnect();
  }
}

/** Whether kafkajs failed (maybe after its own retries) because a partition has no leader yet. */
function isLeaderless(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.type === 'LEADER_NOT_AVAILABLE') return true;
  return false;
}

/**
 * The topic's partition count once every partition has a leader. A topic another process has just
 * created may have none yet (its CreateTopics answer came back before the leaders were elected);
 * asked again every 100 ms for up to 10 s, as kafkajs waits after creating one itself.
 */
async function ledPartitionCount(admin: Admin, topic: string): Promise<number> {
  const deadline = Date.now() + LEADERS_WAIT_MS;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0].partitions.length;
    } catch (err) {
      if (!isLeaderless(err) || Date.now() >= deadline) throw err;
      await sleep(LEADERS_POLL_MS);
    }
  }
}
