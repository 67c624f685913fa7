import { expect } from 'chai';
import { Kafka, logLevel, type logCreator, type Message } from 'kafkajs';
import { KafkaBus, toKafkaMessage } from '../../src/bus/kafka';
import { computeEventHash, createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { freePort } from '../support/free-port';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';

const eventually = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** `TaskStarted` events of `stream` at the given revisions (their positions the same), as the store records them. */
const taskStarted = (stream: string, revisions: number[]): RecordedEvent[] =>
  revisions.map((revision) => ({ ...createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: { revision } }), revision, position: revision }) as RecordedEvent);

/** Writes each batch of `batches` to `topic` in one send, as a producer other than the relay would. */
async function produce(brokers: string[], topic: string, ...batches: Message[][]): Promise<void> {
  const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  for (const messages of batches) await producer.send({ topic, messages });
  await producer.disconnect();
}

describe('KafkaBus (kafkajs against the test broker)', function () {
  this.timeout(30_000);
  let broker: KafkaBroker;
  before(async () => {
    broker = await startKafkaBroker();
  });
  after(async () => broker?.stop());

  it('a start with no broker answering fails DEPENDENCY_UNAVAILABLE naming Kafka and its brokers, not a stack trace of kafkajs internals', async () => {
    const port = await freePort();
    const bus = new KafkaBus({ brokers: [`127.0.0.1:${port}`], topic: 'none.events.v1', kafka: { logLevel: logLevel.NOTHING, retry: { retries: 0 } }, onInvalidMessage: () => undefined });
    try {
      const err = await bus.consume('g', async () => undefined).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code, String(err?.stack)).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err?.message).to.match(new RegExp(`^kafka: cannot connect to 127\\.0\\.0\\.1:${port} \\(KAFKA_BROKERS\\): .*ECONNREFUSED`));
    } finally {
      await bus.close();
    }
  });

  it('reports a message that is not an envelope (KAFKA_MESSAGE_INVALID, naming partition and offset) and delivers the events around it', async () => {
    const topic = 'bus.events.v1';
    broker.createTopic(topic, 1);
    const stream = `task-${newId()}`;
    const events = taskStarted(stream, [0, 1]);
    await produce(broker.brokers, topic, [toKafkaMessage(events[0]), { key: stream, value: '{"not":"an envelope"}' }, toKafkaMessage(events[1])]);

    const invalid: unknown[] = [];
    const got: RecordedEvent[] = [];
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: (err) => invalid.push(err) });
    try {
      await bus.consume('g', async (batch) => void got.push(...batch));
      await eventually(() => got.length >= 2 && invalid.length >= 1, 'two events and one invalid message');
      expect(got.map((e) => e.id)).to.deep.equal(events.map((e) => e.id));
      expect(invalid).to.have.length(1);
      expect(invalid[0]).to.include({ code: 'KAFKA_MESSAGE_INVALID' });
      expect((invalid[0] as Error).message).to.contain(`${topic}/0@1`);
    } finally {
      await bus.close();
    }
  });

  it('skips an envelope whose hash does not match its content (KAFKA_MESSAGE_INVALID), as docs/consumers.md tells consumers to, and delivers the genuine copy that follows it', async () => {
    const topic = 'tampered.events.v1';
    broker.createTopic(topic, 1);
    const stream = `task-${newId()}`;
    const [genuine, next] = taskStarted(stream, [0, 1]);
    // The same event id and hash with other content: written by someone other than the relay (OpenMCP hashes every event it builds).
    const tampered = { ...genuine, tenant: 'globex' };
    await produce(broker.brokers, topic, [toKafkaMessage(tampered), toKafkaMessage(genuine), toKafkaMessage(next)]);

    const invalid: unknown[] = [];
    const got: RecordedEvent[] = [];
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: (err) => invalid.push(err) });
    try {
      await bus.consume('g', async (batch) => void got.push(...batch));
      await eventually(() => got.length + invalid.length >= 3, 'three messages handled');
      expect(got.map((e) => [e.id, e.tenant])).to.deep.equal([
        [genuine.id, 'acme'],
        [next.id, 'acme'],
      ]);
      expect(invalid).to.have.length(1);
      expect(invalid[0]).to.include({ code: 'KAFKA_MESSAGE_INVALID' });
      expect((invalid[0] as Error).message).to.equal(`${topic}/0@0: not an event envelope: event ${genuine.id} (${stream}#0, position 0): its hash ${genuine.hash} does not match its content (${computeEventHash(tampered)})`);
    } finally {
      await bus.close();
    }
  });

  it('redelivers a batch whose handler failed, from the first unhandled event, in order (at least once)', async () => {
    const topic = 'bus-retry.events.v1';
    broker.createTopic(topic, 1);
    const stream = `task-${newId()}`;
    const events = taskStarted(stream, [0, 1, 2, 3]);
    await produce(broker.brokers, topic, events.slice(0, 2).map(toKafkaMessage), events.slice(2).map(toKafkaMessage));

    const got: number[] = [];
    let failed = false;
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 2 } }, onInvalidMessage: () => undefined });
    try {
      await bus.consume('g', async (batch) => {
        if (!failed && batch.some((e) => e.revision === 2)) {
          failed = true;
          throw new Error('projection store down');
        }
        got.push(...batch.map((e) => e.revision));
      });
      await eventually(() => got.includes(3), 'every event after the failure');
      // Dedupe keeping first delivery: revisions in order, none missing.
      expect([...new Set(got)]).to.deep.equal([0, 1, 2, 3]);
      expect(failed).to.equal(true);
    } finally {
      await bus.close();
    }
  });

  it("logs no ERROR line when another member joins or leaves its group (every projector start, stop or deploy): kafkajs logged the heartbeat told to rejoin at ERROR on each member", async () => {
    const topic = 'rebalance.events.v1';
    const lines: { level: number; message: string; error?: string }[] = [];
    const capture: logCreator = () => ({ level, log }) => void lines.push({ level, message: String(log.message), error: log.error as string | undefined });
    const member = () => new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, heartbeatIntervalMs: 100, kafka: { logLevel: logLevel.INFO, logCreator: capture }, onInvalidMessage: () => undefined });
    const rejoins = () => lines.filter((l) => l.message.includes('The group is rebalancing, re-joining')).length;
    const first = member();
    const second = member();
    try {
      await first.consume('projector', async () => undefined);
      await second.consume('projector', async () => undefined);
      await eventually(() => rejoins() >= 1, 'the first member told to rejoin as the second joins');
      await second.close();
      await eventually(() => rejoins() >= 2, 'the first member told to rejoin as the second leaves');
      const errors = lines.filter((l) => l.level === logLevel.ERROR);
      expect(errors, JSON.stringify(errors)).to.deep.equal([]);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('creates a missing topic with the contract settings before subscribing, so the broker does not auto-create it with its defaults', async () => {
    const topic = 'first-consumer.events.v1';
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: () => undefined });
    try {
      await bus.consume('early', async () => undefined);
      // The test broker auto-creates with 3 partitions and a 1 MiB limit; the contract says 6 and 4 MiB + 64 KiB.
      expect(broker.highWatermarks(topic)).to.have.length(6);
      const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'task-x', value: 'x'.repeat(2 * 1024 * 1024) }] });
      await producer.disconnect();
    } finally {
      await bus.close();
    }
  });

  it('never has the broker auto-create its topic with the broker defaults, even when the topic vanishes under it (Kafka lost)', async () => {
    const topic = 'lost.events.v1';
    const first = await startKafkaBroker();
    const bus = new KafkaBus({ brokers: first.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: () => undefined });
    let second: KafkaBroker | undefined;
    try {
      await bus.consume('survivor', async () => undefined);
      expect(first.highWatermarks(topic)).to.have.length(6);
      // The cluster is lost and replaced by an empty one at the same address, whose default is 1 partition.
      await first.stop();
      second = await startKafkaBroker({ port: first.port, defaultPartitions: 1 });
      const replaced = second;
      await eventually(() => replaced.metadataRequests(topic) > 0, 'the consumer to look for its topic on the new cluster');
      // Left for the relay (or an operator) to create with the contract settings: 1 partition and a
      // 1 MiB limit would hold the relay (RELAY_PARTITIONS_CHANGED) or, with 6, larger events.
      expect(replaced.highWatermarks(topic)).to.deep.equal([]);
    } finally {
      await bus.close();
      await second?.stop();
    }
  });

  it('refuses to start on a missing topic it may not create (KAFKA_TOPIC_MISSING, saying why), rather than have the broker auto-create it', async () => {
    const topic = 'forbidden.events.v1';
    broker.refuseTopic(topic, 29); // TOPIC_AUTHORIZATION_FAILED
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: () => undefined });
    try {
      const err = await bus.consume('refused', async () => undefined).then(() => undefined, (e: unknown) => e as Error & { code?: string });
      expect(err?.code).to.equal('KAFKA_TOPIC_MISSING');
      expect(err?.message).to.include(topic).and.include('creating it failed');
      expect(broker.highWatermarks(topic)).to.deep.equal([]);
    } finally {
      broker.refuseTopic(topic, 0);
      await bus.close();
    }
  });
});
