/**
 * A downstream consumer of the OpenMCP events topic: subscribes with kafkajs, dedupes by event-id,
 * and recomputes every event's hash (SHA-256 of the RFC 8785 canonical JSON of the content fields).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx examples/kafka-consumer.ts [--group G] [--from-beginning] [--max N]
 *
 * Environment: KAFKA_BROKERS (default 127.0.0.1:9092), KAFKA_TOPIC_PREFIX (default openmcp).
 * Started before the topic exists, it waits for the relay to create it.
 * With --max N it exits after N distinct events: 0 if every hash matched, 1 otherwise. A message
 * that is not an event envelope is reported BAD (counted as a mismatch) and passed over. An id
 * counts as seen only once its envelope checked out: a forged copy does not hide the genuine one.
 * See docs/consumers.md.
 */
import { Kafka, logLevel } from 'kafkajs';
import { computeEventHash, RecordedEventSchema, type RecordedEvent } from '../src/core/envelope';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = `${process.env.KAFKA_TOPIC_PREFIX ?? 'openmcp'}.events.v1`;
const groupId = option('group') ?? 'openmcp-example-consumer';
const max = option('max') === undefined ? Infinity : Number(option('max'));

async function main(): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'openmcp-example-consumer', logLevel: logLevel.WARN });
  // Never let the broker auto-create the topic with its own defaults (partition count, 1 MiB
  // limit) when this starts before the relay has created it: it would keep them for good.
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  // Delivery is at least once: the same event can come twice (after a relay or consumer restart).
  // A real consumer keeps the ids it has applied next to its own state; a Set does for a demo.
  const seen = new Set<string>();
  // Messages reported BAD, by partition and offset (a redelivery is not reported twice).
  const rejected = new Set<string>();
  let bad = 0;
  let done = false;
  const finish = async (code: number) => {
    if (done) return;
    done = true;
    await consumer.disconnect();
    console.log(`${seen.size + rejected.size} events, ${bad} hash mismatches`);
    process.exit(code);
  };
  process.on('SIGINT', () => void finish(bad ? 1 : 0));

  await topicCreated(kafka);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: args.includes('--from-beginning') });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (done) return;
      const where = `p${partition}@${message.offset}`;
      // Only the relay writes envelopes to this topic; anything else (someone else's producer) is
      // reported and passed over: throwing here would have kafkajs redeliver it forever.
      const id = message.headers?.['event-id']?.toString();
      if ((id !== undefined && seen.has(id)) || rejected.has(where)) return;
      const event = envelopeOf(message.value);
      if (!event) {
        bad++;
        rejected.add(where);
        console.log(`BAD ${where} not an event envelope (key ${message.key?.toString() ?? 'none'})`);
      } else {
        // The hash covers the content fields only; revision, position and hash itself are left out.
        const computed = computeEventHash(event);
        const ok = computed === event.hash && event.hash === message.headers?.['event-hash']?.toString() && event.id === id;
        // Only an authentic envelope marks its id seen: a forged copy that came first (same
        // event-id) must not have the genuine event dropped as its repeat.
        if (ok) seen.add(event.id);
        else {
          bad++;
          rejected.add(where);
        }
        console.log(
          `${ok ? 'ok ' : 'BAD'} ${where} ${event.stream}#${event.revision} ${event.type} ${event.hash.slice(0, 18)}…` + (ok ? '' : ` computed ${computed}`),
        );
      }
      if (seen.size + rejected.size >= max) void finish(bad ? 1 : 0);
    },
  });
}

/**
 * Wait until the topic exists (this consumer may be deployed before the gateway's first start):
 * with auto-creation off, kafkajs refuses to subscribe to a missing topic
 * (UNKNOWN_TOPIC_OR_PARTITION), and the relay (or OpenMCP's projectors) will create it with the
 * contract's settings. Listing the topics asks for no topic by name, so Kafka creates nothing.
 */
async function topicCreated(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let waiting = false; !(await admin.listTopics()).includes(topic); waiting = true) {
      if (!waiting) console.log(`waiting for topic ${topic} (the relay creates it at its first start)`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await admin.disconnect();
  }
}

/** The envelope in a message value, or undefined when the value is not one (not JSON, fields missing). */
function envelopeOf(value: Buffer | null): RecordedEvent | undefined {
  try {
    const parsed = RecordedEventSchema.safeParse(JSON.parse(value?.toString('utf8') ?? ''));
    return parsed.success ? (parsed.data as RecordedEvent) : undefined;
  } catch {
    return undefined;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
