import { expect } from 'chai';
import { logLevel, Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import { assertToken, fencedCheckpoints, SqlLeaseStore } from '../../src/leader';
import { Relay, relayCheckpointName, relayReadiness, startRelayLeadership } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, checkOrderPerStream, eventually, openTestLog, readTopic, type TestLog } from './event-log-fixture';

/**
 * The partition kafkajs' default partitioner (the relay's) gives a stream's events: a fault set on
 * a fixed partition was never hit when none of the test's random streams landed there.
 */
function partitionOf(stream: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key: stream, value: null } });
}

const LIMIT = 64 * 1024;

/** One event of `bytes` characters of data in a stream of its own. */
async function appendLarge(store: EventStore, bytes: number): Promise<RecordedEvent> {
  const stream = `task-${newId()}`;
  const event = createEvent({ type: 'TaskStepRecorded', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: { text: 'x'.repeat(bytes) } });
  return (await store.append(stream, [event])).events[0];
}

const codeOf = (err: unknown) => (err as { code?: string }).code;

describe('Relay under broker faults (kafkajs against the test broker)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let log: TestLog;
  const relays: Relay[] = [];
  const published = (topic: string) => broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
  const relay = (topic: string, extra: Partial<ConstructorParameters<typeof Relay>[2]> = {}) => {
    const r = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: { logLevel: logLevel.NOTHING }, ...extra });
    relays.push(r);
    return r;
  };

  beforeEach(async () => {
    // Kafka's message.max.bytes made small, so a batch of ordinary events goes over it.
    broker = await startKafkaBroker({ maxMessageBytes: LIMIT });
    log = await openTestLog();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await log.close();
    await broker.stop();
  });

  it('sends a batch that is over the max message size in halves: nothing lost, in order per stream', async () => {
    const topic = 'split.events.v1';
    broker.createTopic(topic, 3);
    // 4 streams × 40 events of about 2.5 KB: one partition's share of a 500-event batch is ~100 KB.
    const stored = await appendEvents(log.store, 4, 40, 40);
    for (const e of stored) expect(JSON.stringify(e).length).to.be.lessThan(LIMIT);
    const big = await Promise.all(Array.from({ length: 40 }, () => appendLarge(log.store, 2500)));
    const r = relay(topic);
    await r.start();
    await r.waitFor(big[big.length - 1].position, 15_000);
    const received = await readTopic(broker.brokers, topic, published(topic));
    const ids = new Set(received.map((m) => m.headers['event-id']));
    expect(ids.size).to.equal(stored.length + big.length);
    checkOrderPerStream(received);
    expect(r.stalled).to.equal(undefined);
  });

  it('holds at an event too large for the topic (RELAY_EVENT_TOO_LARGE, nothing skipped) and goes on once the limit is raised', async () => {
    const topic = 'poison.events.v1';
    broker.createTopic(topic, 3);
    const before = await appendEvents(log.store, 3, 3);
    const poison = await appendLarge(log.store, 2 * LIMIT);
    const afterIt = await appendEvents(log.store, 3, 3);
    const errors: unknown[] = [];
    const r = relay(topic, { onError: (e) => errors.push(e) });
    await r.start();
    await eventually(() => r.stalled?.code === 'RELAY_EVENT_TOO_LARGE', 'the relay to report the event too large');
    expect(r.stalled!.position).to.equal(poison.position);
    expect(r.stalled!.message).to.contain(poison.id);
    expect(errors.map(codeOf)).to.include('RELAY_EVENT_TOO_LARGE');
    expect(r.position).to.equal(before[before.length - 1].position);
    expect(await log.checkpoints.load(relayCheckpointName(topic))).to.equal(before[before.length - 1].position);
    // The partitions that took their part of a refused request keep it (events of other streams,
    // some after the poison: no order across streams is promised); the poison's partition took none.
    const early = await readTopic(broker.brokers, topic, published(topic));
    const earlyIds = new Set(early.map((m) => m.headers['event-id']));
    expect([...earlyIds]).to.include.members(before.map((e) => e.id));
    expect(earlyIds.has(poison.id)).to.equal(false);
    checkOrderPerStream(early);

    broker.setMaxMessageBytes(topic, 4 * LIMIT);
    await r.waitFor(afterIt[afterIt.length - 1].position, 15_000);
    expect(r.stalled).to.equal(undefined);
    const received = await readTopic(broker.brokers, topic, published(topic));
    expect(received.map((m) => m.headers['event-id'])).to.include.members([...before, poison, ...afterIt].map((e) => e.id));
    checkOrderPerStream(received);
  });

  it("keeps each produce request under 1 MiB, so a backlog of large events never goes over the broker's request limit", async () => {
    await broker.stop();
    // Kafka closes the connection on a request over socket.request.max.bytes (100 MiB by default:
    // 500 tool outputs of 256 KiB); here 2 MiB, with events of 300 KB.
    broker = await startKafkaBroker({ maxRequestBytes: 2 * 1024 * 1024 });
    const topic = 'requests.events.v1';
    const big = [];
    for (let i = 0; i < 10; i++) big.push(await appendLarge(log.store, 300_000));
    const r = relay(topic);
    await r.start();
    await r.waitFor(big[big.length - 1].position, 15_000);
    expect(published(topic)).to.equal(big.length);
  });

  it('creates its topic with a max.message.bytes that takes the largest event the store accepts', async () => {
    const topic = 'roomy.events.v1';
    const e = await appendLarge(log.store, 2 * 1024 * 1024);
    const r = relay(topic);
    await r.start();
    await r.waitFor(e.position, 15_000);
    const [m] = await readTopic(broker.brokers, topic, 1);
    expect((JSON.parse(m.value) as RecordedEvent).id).to.equal(e.id);
  });

  it('a batch some of whose partitions Kafka refused retriably: kafkajs resends it, the idempotent producer keeps each event once', async () => {
    const topic = 'retriable.events.v1';
    broker.createTopic(topic, 3);
    const stored = await appendEvents(log.store, 12, 5);
    broker.failProduce({ topic, partition: partitionOf(stored[0].stream, 3), error: 6 }); // NOT_LEADER_OR_FOLLOWER
    const r = relay(topic);
    await r.start();
    await r.waitFor(stored[stored.length - 1].position, 15_000);
    expect(published(topic)).to.equal(stored.length);
    checkOrderPerStream(await readTopic(broker.brokers, topic, stored.length));
  });

  it('a batch some of whose partitions Kafka refused for good: resent whole by a fresh producer, duplicates bounded by the batch, nothing lost or reordered', async () => {
    const topic = 'refused.events.v1';
    broker.createTopic(topic, 3);
    const stored = await appendEvents(log.store, 12, 5);
    broker.failProduce({ topic, partition: partitionOf(stored[0].stream, 3), error: 29 }); // TOPIC_AUTHORIZATION_FAILED, not retriable
    const errors: unknown[] = [];
    const r = relay(topic, { onError: (e) => errors.push(e) });
    await r.start();
    await r.waitFor(stored[stored.length - 1].position, 15_000);
    expect(errors.map(codeOf)).to.include('RELAY_PUBLISH_FAILED');
    expect(r.stalled).to.equal(undefined);
    const total = published(topic);
    expect(total - stored.length).to.be.within(1, stored.length);
    const received = await readTopic(broker.brokers, topic, total);
    expect(new Set(received.map((m) => m.headers['event-id'])).size).to.equal(stored.length);
    checkOrderPerStream(received);
  });

  it('a deposed relay publishes nothing more once a newer lease token exists (fenced before each send)', async () => {
    const topic = 'fence.events.v1';
    const lease = relayCheckpointName(topic);
    const leases = new SqlLeaseStore(log.knex);
    const token = (await leases.acquire(lease, 'old', 60_000))!;
    const first = await appendEvents(log.store, 5, 4);
    const errors: unknown[] = [];
    const r = new Relay(log.store, fencedCheckpoints(log.checkpoints, leases, lease, token), {
      brokers: broker.brokers,
      topic,
      registry: new Registry(),
      kafka: { logLevel: logLevel.NOTHING },
      fence: () => assertToken(leases, lease, token),
      onError: (e) => errors.push(e),
    });
    relays.push(r);
    await r.start();
    await r.waitFor(first[first.length - 1].position);
    // Another candidate takes the lease while the old leader has not noticed (a pause, a partition).
    await leases.release(lease, 'old');
    expect(await leases.acquire(lease, 'new', 60_000)).to.be.greaterThan(token);
    await appendEvents(log.store, 5, 4);
    await eventually(() => errors.some((e) => codeOf(e) === 'LEASE_FENCED'), 'the old relay to notice it was fenced');
    await new Promise((res) => setTimeout(res, 1500));
    expect(published(topic)).to.equal(first.length);
    expect(r.position).to.equal(first[first.length - 1].position);
  });

  it('refuses a topic whose partition count changed since it first published (streams would move and lose their order), at start and while running', async () => {
    const topic = 'regrown.events.v1';
    broker.createTopic(topic, 3);
    const first = await appendEvents(log.store, 6, 2);
    const errors: unknown[] = [];
    const r = relay(topic, { onError: (e) => errors.push(e) });
    await r.start();
    await r.waitFor(first[first.length - 1].position);

    // Partitions added under the running relay: its next request (after a metadata refresh) is refused.
    broker.addPartitions(topic, 5);
    broker.failProduce({ topic, error: 6 }); // NOT_LEADER: kafkajs refreshes its metadata
    const second = await appendEvents(log.store, 6, 2);
    await eventually(() => r.stalled?.code === 'RELAY_PARTITIONS_CHANGED', 'the running relay to refuse the new partition count');
    expect(errors.map(codeOf)).to.include('RELAY_PARTITIONS_CHANGED');
    expect(broker.highWatermarks(topic).slice(3)).to.deep.equal([0, 0]);
    await r.stop();

    // A restart does not take the new count either.
    const again = relay(topic);
    const err = await again.start().then(() => undefined, (e: unknown) => e);
    expect(codeOf(err)).to.equal('RELAY_PARTITIONS_CHANGED');
    expect((err as Error).message).to.contain('relay:regrown.events.v1:partitions');
    expect(broker.highWatermarks(topic).slice(3)).to.deep.equal([0, 0]);

    // The operator accepts the move: the relay goes on from its checkpoint with the new count.
    await log.knex('checkpoints').where({ name: 'relay:regrown.events.v1:partitions' }).del();
    const accepted = relay(topic);
    await accepted.start();
    await accepted.waitFor(second[second.length - 1].position);
  });

  it('a topic Kafka refuses to create: /readyz names the relay degraded with RELAY_TOPIC_UNAVAILABLE, and it publishes once allowed', async () => {
    const topic = 'denied.events.v1';
    broker.refuseTopic(topic, 29);
    const stored = await appendEvents(log.store, 3, 3);
    const errors: unknown[] = [];
    const l = startRelayLeadership({
      store: log.store,
      checkpoints: log.checkpoints,
      leases: new SqlLeaseStore(log.knex),
      relay: { brokers: broker.brokers, topic, registry: new Registry(), kafka: { logLevel: logLevel.NOTHING } },
      ttlMs: 600,
      onError: (e) => errors.push(e),
    });
    try {
      await eventually(() => l.stalled()?.code === 'RELAY_TOPIC_UNAVAILABLE', 'the relay to report the refused topic');
      const ready = relayReadiness(l);
      expect(ready.state).to.equal('degraded');
      expect(ready.detail).to.match(/RELAY_TOPIC_UNAVAILABLE.*denied\.events\.v1/);
      expect(errors.map(codeOf)).to.include('RELAY_TOPIC_UNAVAILABLE');

      broker.refuseTopic(topic, 0);
      await eventually(() => l.relay()?.position === stored[stored.length - 1].position, 'the relay to publish once the topic exists');
      expect(l.stalled()).to.equal(undefined);
      expect(relayReadiness(l)).to.include({ state: 'up' });
    } finally {
      await l.stop();
    }
  });

  it('an event the store cannot read holds the relay before it (stalled, retried), never skipped', async () => {
    const topic = 'unreadable.events.v1';
    const good = await appendEvents(log.store, 2, 2);
    // A row written past the store (a restore gone wrong, a bug elsewhere): its body is not JSON.
    const position = (await log.store.headPosition()) + 1;
    await log.knex('events').insert({ position, id: newId(), stream: `task-${newId()}`, revision: 0, type: 'TaskSubmitted', version: 1, tenant: 'acme', occurred_at: new Date().toISOString(), hash: `0x${'0'.repeat(64)}`, body: '{not json' });
    await log.knex('event_log_head').where({ id: 1 }).update({ next_position: position + 1 });
    const r = relay(topic, { onError: () => undefined });
    await r.start();
    await eventually(() => r.stalled !== undefined, 'the relay to report the unreadable event');
    expect(r.stalled!.position).to.be.at.most(position);
    expect(r.stalled!.position).to.be.greaterThan(r.position);
    await new Promise((res) => setTimeout(res, 1200));
    expect(published(topic)).to.be.at.most(good.length);
    expect(r.position).to.be.lessThan(position);
  });
});
