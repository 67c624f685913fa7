import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { Relay } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { appendEvents, checkOrderPerStream, eventually, openTestLog, readTopic, type TestLog } from './event-log-fixture';

describe('Relay over the KurrentDB adapter (gRPC fake → kafkajs → test broker)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let fake: KurrentFake;
  let store: EventStore;
  let checkpointDb: TestLog;

  before(async () => {
    broker = await startKafkaBroker();
    fake = await startKurrentFake();
    store = await openKurrentEventStore(fake.url);
    checkpointDb = await openTestLog();
  });
  after(async () => {
    await store?.close();
    await fake?.stop();
    await checkpointDb?.close();
    await broker?.stop();
  });

  it('reports its lag in events, though KurrentDB positions are log offsets with gaps', async () => {
    const topic = 'kurrent-lag.events.v1';
    const relay = new Relay(store, checkpointDb.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: { logLevel: logLevel.NOTHING } });
    await relay.start();
    await relay.waitFor();
    await relay.stop();
    expect(await relay.lag()).to.equal(0);
    await appendEvents(store, 3, 4, 2);
    expect(await relay.lag()).to.equal(12);
  });

  it('publishes every event, in order per stream, across the server going away and coming back', async () => {
    const topic = 'kurrent.events.v1';
    const first = await appendEvents(store, 10, 6, 3);
    const errors: unknown[] = [];
    const relay = new Relay(store, checkpointDb.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: { logLevel: logLevel.NOTHING }, onError: (e) => errors.push(e) });
    await relay.start();
    try {
      await relay.waitFor(first[first.length - 1].position);
      // The server restarts (same port, same data): the subscription fails, the relay resubscribes from its checkpoint.
      const { port, log } = fake;
      await fake.stop();
      await eventually(() => errors.length > 0, 'the relay to notice the server went away');
      expect(relay.stalled?.position).to.be.greaterThan(first[first.length - 1].position);
      fake = await startKurrentFake({ port, log });
      await eventually(() => relay.stalled === undefined, 'the relay to see the server back with nothing left to publish', 10_000);
      const second = await appendEvents(store, 10, 4, 2);
      await relay.waitFor(second[second.length - 1].position, 20_000);
      const all = await store.readAll({ limit: 100_000 });
      expect(all.map((e) => e.id)).to.include.members([...first, ...second].map((e) => e.id));
      const total = broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
      const received = await readTopic(broker.brokers, topic, total);
      expect(new Set(received.map((m) => m.headers['event-id']))).to.deep.equal(new Set(all.map((e) => e.id)));
      checkOrderPerStream(received);
    } finally {
      await relay.stop();
    }
  });
});
