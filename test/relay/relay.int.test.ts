import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { KafkaBus } from '../../src/bus/kafka';
import { computeEventHash, type RecordedEvent } from '../../src/core/envelope';
import { Relay, RELAY_LAG_METRIC, relayCheckpointName } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, checkOrderPerStream, eventually, openTestLog, readTopic, type TestLog } from './event-log-fixture';

describe('Relay → Kafka (kafkajs against the test broker)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;

  before(async () => {
    broker = await startKafkaBroker();
  });
  after(async () => broker?.stop());

  describe('10,000 events', () => {
    let log: TestLog;
    let stored: RecordedEvent[];
    const topic = 'it.events.v1';
    const registry = new Registry();
    let relay: Relay;

    before(async () => {
      log = await openTestLog();
      stored = await appendEvents(log.store, 100, 100);
    });
    after(async () => {
      await relay?.stop();
      await log?.close();
    });

    it('publishes every event with key = stream, the contract headers and the envelope as value', async () => {
      relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry });
      await relay.start();
      await relay.waitFor(stored[stored.length - 1].position);
      expect(broker.highWatermarks(topic)).to.have.length(6);
      expect(broker.highWatermarks(topic).reduce((a, b) => a + b, 0)).to.equal(10_000);
      expect(await log.checkpoints.load(relayCheckpointName(topic))).to.equal(stored[stored.length - 1].position);

      const received = await readTopic(broker.brokers, topic, 10_000);
      expect(received).to.have.length(10_000);
      const byId = new Map(stored.map((e) => [e.id, e]));
      const partitionOf = new Map<string, number>();
      for (const m of received) {
        const event = JSON.parse(m.value) as RecordedEvent;
        const original = byId.get(event.id)!;
        expect(event).to.deep.equal(original);
        expect(m.key).to.equal(original.stream);
        expect(computeEventHash(event)).to.equal(m.headers['event-hash']);
        const expected: Record<string, string> = {
          'event-id': original.id,
          'event-type': original.type,
          'event-version': String(original.version),
          'event-hash': original.hash,
          tenant: original.tenant,
          'content-type': 'application/json',
        };
        if (original.correlationId) expected['correlation-id'] = original.correlationId;
        expect(m.headers).to.deep.equal(expected);
        // One stream, one partition.
        expect(partitionOf.get(m.key) ?? m.partition).to.equal(m.partition);
        partitionOf.set(m.key, m.partition);
      }
      expect(checkOrderPerStream(received).size).to.equal(100);
      expect(new Set(partitionOf.values()).size).to.be.greaterThan(1);
    });

    it('reports its lag as openmcp_relay_lag_events', async () => {
      const lagNow = async () => (await registry.getSingleMetric(RELAY_LAG_METRIC)!.get()).values[0]?.value;
      expect(await lagNow()).to.equal(0);
      await relay.stop();
      await appendEvents(log.store, 2, 5);
      await relay.start();
      await relay.waitFor();
      expect(await lagNow()).to.equal(0);
      const paused = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry() });
      expect(await paused.lag()).to.equal(stored[stored.length - 1].position + 10 + 1);
    });
  });

  it('loses nothing when the relay process is killed (SIGKILL) mid-run and restarted', async function () {
    this.timeout(150_000);
    const log = await openTestLog();
    const topic = 'crash.events.v1';
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const stored = await appendEvents(log.store, 50, 200);
      child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'relay-child.ts'), log.url, broker.brokers[0], topic, '50'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((r) => child!.once('exit', r));
      const published = () => broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
      // Its start (tsx compiling the relay) takes seconds on a loaded machine: the wait is for that.
      await eventually(() => published() >= 2_000, 'the child relay to publish 2,000 events', 60_000);
      child.kill('SIGKILL');
      await exited;
      const atKill = published();
      expect(atKill, 'killed mid-run').to.be.lessThan(10_000);
      const checkpoint = (await log.checkpoints.load(relayCheckpointName(topic))) ?? -1;
      expect(checkpoint + 1).to.be.at.most(atKill);

      const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry() });
      await relay.start();
      await relay.waitFor(stored[stored.length - 1].position);
      await relay.stop();

      const total = published();
      const received = await readTopic(broker.brokers, topic, total);
      const ids = new Set(received.map((m) => m.headers['event-id']));
      expect(ids.size).to.equal(10_000);
      expect(stored.every((e) => ids.has(e.id))).to.equal(true);
      // docs/consumers.md: a crash repeats at most the batch in flight (the child's maxBatch, 50).
      expect(total - 10_000, 'repeats after the crash').to.be.at.most(50);
      checkOrderPerStream(received);
    } finally {
      // A child left running (the wait above failed) would go on retrying a broker that is gone.
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await log.close();
    }
  });

  it('a consumer group (KafkaBus) resumes from its committed offsets on its second run', async () => {
    const log = await openTestLog();
    const topic = 'groups.events.v1';
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), partitions: 3 });
    const bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, onInvalidMessage: (err) => expect.fail(String(err)) });
    try {
      const firstBatch = await appendEvents(log.store, 20, 50);
      await relay.start();
      const run1: RecordedEvent[] = [];
      const c1 = await bus.consume('projector', async (events) => void run1.push(...events));
      await eventually(() => run1.length >= firstBatch.length, 'the first run');
      await c1.stop();
      expect(new Set(run1.map((e) => e.id)).size).to.equal(firstBatch.length);

      const secondBatch = await appendEvents(log.store, 5, 20);
      await relay.waitFor();
      const run2: RecordedEvent[] = [];
      const c2 = await bus.consume('projector', async (events) => void run2.push(...events));
      await eventually(() => run2.length >= secondBatch.length, 'the second run');
      await new Promise((r) => setTimeout(r, 300));
      await c2.stop();
      expect(run2.map((e) => e.id).sort()).to.deep.equal(secondBatch.map((e) => e.id).sort());
    } finally {
      await bus.close();
      await relay.stop();
      await log.close();
    }
  });
});
