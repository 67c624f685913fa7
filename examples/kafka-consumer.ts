/**
 * A downstream consumer of the OpenMCP events topic: subscribes with kafkajs, dedupes by event-id,
 * recomputes every event's hash (SHA-256 of the RFC 8785 canonical JSON of the content fields),
 * and reads each checked event as the latest version of its type (the repository's upcasters).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx examples/kafka-consumer.ts [--group G] [--from-beginning] [--max N]
 *
 * Environment: KAFKA_BROKERS (default 127.0.0.1:9092), KAFKA_TOPIC_PREFIX (default openmcp), and
 * the gateway's TLS and SASL settings, read as the gateway reads them: KAFKA_SSL, KAFKA_SSL_CA_FILE,
 * KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
 * KAFKA_SASL_PASSWORD, or KAFKA_SASL_MECHANISM=oauthbearer with the KAFKA_SASL_OAUTHBEARER_* settings
 * (give this consumer a principal of its own that may only read the topic).
 * A setting that does not hold exits 2 naming it; so do credentials or a certificate the brokers refuse.
 * Started before the topic exists, it waits for the relay to create it.
 * With --max N it exits after N distinct events: 0 if every hash matched, 1 otherwise; a bad option
 * exits 2 naming it, before any broker is asked. A message that is not an event envelope, or whose
 * key or headers disagree with its envelope, is reported BAD (counted as a mismatch) and passed
 * over. An id counts as seen only once its envelope checked out: a copy whose hash does not match
 * does not hide the genuine one; and every copy is checked, so one forged after it is reported
 * too, a repeat whose revision or position is not the first copy's included. (A hash is no
 * signature: one recomputed for a forged copy passes. Only the relay should write to the topic;
 * an event's proof shows it is OpenMCP's.)
 * See docs/consumers.md.
 */
import { Command, InvalidArgumentError } from 'commander';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { catalog } from '../events';
import { kafkaConnectError } from '../src/bus/kafka/connection-security';
import { kafkaConnectionSecurity } from '../src/bus/kafka/connection-security';
import { loadConfig } from '../src/config';
import { OpenMcpError } from '../src/core/errors';
import { computeEventHash, RecordedEventSchema, type RecordedEvent } from '../src/core/envelope';

// A bad option is named before any broker is asked (exit 2): a `--max` that is no count would
// otherwise never be reached, and the example would run for ever.
const options = new Command('kafka-consumer')
  .description('Read the OpenMCP events topic, dedupe by event-id, and check every event hash (docs/consumers.md).')
  .option('--group <id>', 'consumer group', (v: string) => (v.startsWith('-') ? refuse('a group id, not an option') : v), 'openmcp-example-consumer')
  .option('--from-beginning', 'read from the earliest offset when the group has none committed')
  .option('--max <n>', 'exit after N distinct events: 0 if every hash matched, 1 otherwise', (v: string) =>
    /^[1-9]\d*$/.test(v) ? Number(v) : refuse('a whole number of events, at least 1'),
  )
  .allowExcessArguments(false)
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse()
  .opts<{ group: string; fromBeginning?: boolean; max?: number }>();
function refuse(expected: string): never {
  throw new InvalidArgumentError(`Expected ${expected}.`);
}

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
// TLS and SASL as the gateway's own clients connect (one builder for both); a bad setting exits 2 naming it.
const security = (() => {
  try {
    return kafkaConnectionSecurity(loadConfig());
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
const topic = `${process.env.KAFKA_TOPIC_PREFIX ?? 'openmcp'}.events.v1`;
const groupId = options.group;
const max = options.max ?? Infinity;

async function main(): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'openmcp-example-consumer', logLevel: logLevel.WARN, ...security });
  // Never let the broker auto-create the topic with its own defaults (partition count, 1 MiB
  // limit) when this starts before the relay has created it: it would keep them for good.
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  // Delivery is at least once: the same event can come twice (after a relay or consumer restart).
  // A real consumer keeps the ids it has applied next to its own state; a Map does for a demo.
  // Each id maps to where its event is in its stream and the log: revision and position are
  // outside the hash, so a repeat is checked against the first copy that checked out.
  const seen = new Map<string, string>();
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
  await consumer.subscribe({ topic, fromBeginning: options.fromBeginning === true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (done) return;
      const where = `p${partition}@${message.offset}`;
      // Only the relay writes envelopes to this topic; anything else (someone else's producer) is
      // reported and passed over: throwing here would have kafkajs redeliver it forever.
      if (rejected.has(where)) return;
      const event = envelopeOf(message.value);
      if (!event) {
        bad++;
        rejected.add(where);
        console.log(`BAD ${where} not an event envelope (key ${message.key?.toString() ?? 'none'})`);
      } else {
        // The hash covers the content fields only; revision, position and hash itself are left out.
        const problem = hashProblem(event) ?? disagreement(message, event) ?? movedRepeat(seen.get(event.id), event);
        const ok = problem === undefined;
        // A repeat is dropped only once it checked out too (hash, key, headers, and the revision
        // and position of the first copy): deciding on the `event-id` header (or the id) before
        // that would pass over, unreported, a forged copy that comes after the genuine event.
        if (ok && seen.has(event.id)) return;
        // Only an envelope that checks out marks its id seen: a forged copy that came first (same
        // event-id, hash off) must not have the genuine event dropped as its repeat.
        if (ok) seen.set(event.id, placeOf(event));
        else {
          bad++;
          rejected.add(where);
        }
        console.log(`${ok ? 'ok ' : 'BAD'} ${where} ${event.stream}#${event.revision} ${event.type} ${event.hash.slice(0, 18)}…` + (ok ? read(event) : ` ${problem}`));
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

/**
 * Why the event's hash does not check out (undefined: it does). Content with no canonical form (a
 * float, which OpenMCP never writes) has no hash: computeEventHash throws, and thrown out of
 * eachMessage, kafkajs would deliver the message again, for ever.
 */
function hashProblem(event: RecordedEvent): string | undefined {
  let computed: string;
  try {
    computed = computeEventHash(event);
  } catch (err) {
    return `its content has no canonical form, so no hash: ${(err as Error).message}`;
  }
  return computed === event.hash ? undefined : `computed ${computed}`;
}

/** Where an event is: its stream's revision and the log's position (neither is hashed). */
function placeOf(event: RecordedEvent): string {
  return `revision ${event.revision}, position ${event.position}`;
}

/**
 * Why a copy of an event already seen is not a repeat of it (undefined: it is, or none was seen):
 * another revision or position, which its hash cannot show, and a consumer that orders or
 * dedupes by them would misplace it.
 */
function movedRepeat(seenAt: string | undefined, event: RecordedEvent): string | undefined {
  const at = placeOf(event);
  return seenAt === undefined || seenAt === at ? undefined : `a repeat at ${at}; the event is at ${seenAt}`;
}

/**
 * How this consumer reads a checked event: as the latest version of its type (the hash was checked
 * on the stored form; the upcasters change `version` and `data`, never the hash), or not at all
 * when a later release wrote it (a version or type this package does not know): a consumer that
 * decides on a stream stops there until it is upgraded (docs/consumers.md, "Versions").
 */
function read(event: RecordedEvent): string {
  if (catalog.isFromNewerRelease(event)) return ' from a newer release: not read';
  try {
    const latest = catalog.upcast(event);
    return latest.version === event.version ? '' : ` read as v${latest.version}`;
  } catch (err) {
    // Thrown out of eachMessage, kafkajs would deliver the message again, for ever.
    return ` not read: ${(err as Error).message}`;
  }
}

/**
 * Where the key or a header disagrees with the envelope (undefined: they all agree). They repeat
 * its fields so that a consumer can route or filter without parsing the value; the value is
 * authoritative, and the hash covers only it, so a copy whose key or headers were changed still
 * has a matching hash: one routed by them would go to the wrong tenant, type or partition.
 */
function disagreement(message: KafkaMessage, event: RecordedEvent): string | undefined {
  const key = message.key?.toString('utf8');
  if (key !== event.stream) return `key is ${key ?? 'none'}, the envelope's stream ${event.stream}`;
  const expected: Record<string, string | undefined> = {
    'event-id': event.id,
    'event-type': event.type,
    'event-version': String(event.version),
    'event-hash': event.hash,
    tenant: event.tenant,
    'content-type': 'application/json',
    'correlation-id': event.correlationId,
  };
  for (const [name, value] of Object.entries(expected)) {
    const header = message.headers?.[name];
    const got = header === undefined ? undefined : Array.isArray(header) ? header.map(String).join(',') : header.toString();
    if (got !== value) return `header ${name} is ${got ?? 'missing'}, the envelope says ${value ?? 'none'}`;
  }
  return undefined;
}

/** The envelope in a message value, or undefined when the value is not one (not JSON, fields missing). */
function envelopeOf(value: Buffer | null): RecordedEvent | undefined {
  try {
    const json: unknown = JSON.parse(value?.toString('utf8') ?? '');
    // Checked by the schema, but the value as parsed is what is hashed: zod's copy drops a data key
    // named `__proto__` (an own key in JSON), and the hash would not match.
    return RecordedEventSchema.safeParse(json).success ? (json as RecordedEvent) : undefined;
  } catch {
    return undefined;
  }
}

main().catch((err) => {
  // Credentials or a certificate refused: the settings to check, not kafkajs's stack.
  const said = kafkaConnectError(err, { brokers, ...security });
  console.error(said ? said.message : err instanceof OpenMcpError ? err.message : err);
  process.exit(2);
});
