import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Relay, relayCheckpointName, type RelayOptions } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, checkOrderPerStream, eventually, openTestLog, readTopic, type TestLog } from './event-log-fixture';

/** docs/consumers.md "Replaying": an operator sets the relay checkpoint back while the relay runs. */
describe('Relay: a checkpoint set back while it runs (replay)', function () {
  this.timeout(30_000);
  let broker: KafkaBroker;
  let log: TestLog;
  let relay: Relay | undefined;
  const published = (topic: string) => broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
  const start = async (topic: string, extra: Partial<RelayOptions>) => {
    relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, partitions: 3, registry: new Registry(), kafka: { logLevel: logLevel.NOTHING }, ...extra });
    await relay.start();
    return relay;
  };

  beforeEach(async () => {
    broker = await startKafkaBroker();
    log = await openTestLog();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
    await log.close();
    await broker.stop();
  });

  it('republishes from the point it was set back to at its next batch, rather than overwriting it', async () => {
    const topic = 'replay-busy.events.v1';
    const first = await appendEvents(log.store, 4, 5);
    // The idle look is pushed out of the test: the set-back is found when the next batch is checkpointed.
    const r = await start(topic, { checkpointPollMs: 60_000 });
    await r.waitFor(first[first.length - 1].position);
    await log.knex('checkpoints').where({ name: relayCheckpointName(topic) }).del();
    const second = await appendEvents(log.store, 4, 5);
    await eventually(() => published(topic) >= 2 * first.length + second.length, 'the whole log republished', 10_000);
    await r.waitFor(second[second.length - 1].position);
    expect(await log.checkpoints.load(relayCheckpointName(topic))).to.equal(second[second.length - 1].position);
    const received = await readTopic(broker.brokers, topic, published(topic));
    expect(new Set(received.map((m) => m.headers['event-id'])).size).to.equal(first.length + second.length);
    checkOrderPerStream(received);
  });

  it('republishes while idle too, within checkpointPollMs', async () => {
    const topic = 'replay-idle.events.v1';
    const stored = await appendEvents(log.store, 4, 5);
    const lines: string[] = [];
    const r = await start(topic, { checkpointPollMs: 50, log: (l) => lines.push(l) });
    await r.waitFor(stored[stored.length - 1].position);
    const middle = stored[9].position;
    await log.checkpoints.save(relayCheckpointName(topic), middle);
    await eventually(() => published(topic) >= stored.length + 10, 'the events after the set-back point republished', 10_000);
    await eventually(() => r.position === stored[stored.length - 1].position, 'the relay back at the head');
    expect(published(topic)).to.equal(stored.length + 10);
    // An operator (docs/operations.md, the Kafka-loss runbook) saw no line saying the relay took the reset.
    const head = stored[stored.length - 1].position;
    expect(lines).to.deep.equal([
      `relay: checkpoint ${relayCheckpointName(topic)} was set back from position ${head} to ${middle}: publishing again from position ${middle + 1} (consumers drop the repeats by event-id)`,
    ]);
  });

  it('is set back while held up at an event it cannot publish, between two attempts', async () => {
    const topic = 'replay-held.events.v1';
    const stored = await appendEvents(log.store, 4, 5);
    const r = await start(topic, { checkpointPollMs: 60_000 });
    await r.waitFor(stored[stored.length - 1].position);
    broker.setMaxMessageBytes(topic, 4096);
    const stream = `task-${newId()}`;
    const big = createEvent({ type: 'TaskStepRecorded', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: { text: 'x'.repeat(8000) } });
    await log.store.append(stream, [big]);
    await eventually(() => r.stalled?.code === 'RELAY_EVENT_TOO_LARGE', 'the relay held at the large event');
    await log.checkpoints.save(relayCheckpointName(topic), stored[9].position);
    await eventually(() => published(topic) >= stored.length + 10, 'the events after the set-back point republished', 10_000);
    // Held at the large event again (nothing skipped): republishing does not get it past it.
    await eventually(() => r.position === stored[stored.length - 1].position && r.stalled?.code === 'RELAY_EVENT_TOO_LARGE', 'the relay held at the large event again');
  });
});
