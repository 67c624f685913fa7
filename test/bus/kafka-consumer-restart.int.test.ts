/**
 * A consumer kafkajs stops for good (an error it does not retry, such as the group's ACL removed:
 * GROUP_AUTHORIZATION_FAILED) is started again by the bus, with a growing, capped backoff, from
 * the group's committed offsets; meanwhile its readiness line and the stopped-consumers gauge say
 * so. A configuration refusal (a session timeout the brokers refuse) is not retried: it stays
 * stopped, and says so the same way. Real kafkajs against the test broker, which refuses a group as
 * Kafka does without its ACL (refuseGroup).
 */
import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaBus, toKafkaMessage } from '../../src/bus/kafka';
import { KAFKA_CONSUMERS_STOPPED_METRIC, kafkaConsumerReadiness, trackKafkaConsumers } from '../../src/bus/kafka/consumer-health';
import { startKafkaBroker } from '../support/kafka-broker';
import { brokerWithProducer, eventually, taskStartedEvent } from './support/kafka-fixture';

const GROUP_AUTHORIZATION_FAILED = 30;
const COORDINATOR_NOT_AVAILABLE = 15;

/** The value the gauge of `registry` gives `group` at a scrape (undefined: no series). */
async function stoppedGauge(registry: Registry, group: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === KAFKA_CONSUMERS_STOPPED_METRIC);
  return (metric?.values as Array<{ value: number; labels: Record<string, string> }> | undefined)?.find((v) => v.labels.group === group)?.value;
}

describe('KafkaBus: a consumer kafkajs stopped for good (kafkajs against the test broker)', function () {
  this.timeout(90_000);
  const kafka = brokerWithProducer();

  it('is started again by the bus with a growing backoff, not ready meanwhile (readiness line and gauge, naming group and reason), and applies what was produced meanwhile from its committed offsets', async () => {
    const topic = 'restart.events.v1';
    const group = 'restarted';
    kafka.broker.createTopic(topic, 1);
    const applied: string[] = [];
    const stops: { err: unknown; group: string; restartInMs?: number }[] = [];
    const restarts: number[] = [];
    const registry = new Registry();
    const bus = new KafkaBus({
      brokers: kafka.broker.brokers,
      topic,
      maxWaitTimeInMs: 100,
      // Short sessions: the refused member's session (its heartbeats refused too) runs out soon, so the restarted one is not held waiting for it.
      sessionTimeoutMs: 1000,
      heartbeatIntervalMs: 100,
      restartBackoff: { initialMs: 100, maxMs: 400 },
      kafka: { logLevel: logLevel.NOTHING },
      onInvalidMessage: () => undefined,
      onConsumerStopped: (err, g, restart) => void stops.push({ err, group: g, restartInMs: restart?.inMs }),
      onConsumerRestarted: (g, attempt) => void restarts.push(attempt),
    });
    trackKafkaConsumers(registry, bus);
    const readiness = kafkaConsumerReadiness(bus, group);
    try {
      const before = [taskStartedEvent(), taskStartedEvent()];
      await kafka.producer.send({ topic, messages: before.map(toKafkaMessage) });
      await bus.consume(group, async (batch) => void applied.push(...batch.map((e) => e.id)));
      await eventually(() => applied.length >= 2, 'the events produced before to be applied');
      await eventually(async () => (await bus.pending(group)) === 0, 'the events produced before to be committed');
      await eventually(async () => (await readiness.check()).state === 'up', 'the consumer to be ready once it joined');
      expect(await stoppedGauge(registry, group)).to.equal(0);

      // The group's ACL is removed: kafkajs's next heartbeat is refused, and it stops the consumer for good.
      kafka.broker.refuseGroup(group, GROUP_AUTHORIZATION_FAILED);
      await eventually(() => stops.length >= 2, 'the consumer to stop, and a restart to be refused too');
      expect(stops.every((s) => s.group === group)).to.equal(true);
      expect(stops.map((s) => s.restartInMs), 'each stop restarted after a backoff').to.satisfy((waits: Array<number | undefined>) => waits.every((w) => typeof w === 'number' && w > 0 && w <= 400));
      expect(stops[0].err).to.have.property('code', 'KAFKA_CONSUMER_STOPPED');
      expect((stops[0].err as Error).message).to.match(new RegExp(`^the Kafka consumer of group ${group} stopped on an error kafkajs does not retry: GROUP_AUTHORIZATION_FAILED: `));
      const down = await readiness.check();
      expect(down.state).to.equal('degraded');
      expect(down.detail).to.match(new RegExp(`^group ${group} stopped since .*: GROUP_AUTHORIZATION_FAILED: .*; restarting in `));
      expect(await stoppedGauge(registry, group)).to.equal(1);

      // Produced while it is stopped, then the ACL is back.
      const meanwhile = [taskStartedEvent(), taskStartedEvent()];
      await kafka.producer.send({ topic, messages: meanwhile.map(toKafkaMessage) });
      await eventually(() => stops.length >= 4, 'further restarts, refused while the group is');
      // The backoff grows with each refused restart, up to its cap.
      const waits = stops.map((s) => s.restartInMs!);
      expect(Math.max(...waits), `${waits}`).to.be.greaterThan(waits[0]);
      kafka.broker.refuseGroup(group, 0);

      await eventually(() => meanwhile.every((e) => applied.includes(e.id)), 'the events produced meanwhile to be applied by the restarted consumer');
      await eventually(async () => (await readiness.check()).state === 'up', 'the restarted consumer to be ready again');
      expect(await stoppedGauge(registry, group)).to.equal(0);
      expect(restarts, 'the restart that got it running again was reported').to.have.length(1);
      // From the committed offsets: what it had applied before is not delivered again.
      expect(applied).to.deep.equal([...before, ...meanwhile].map((e) => e.id));
    } finally {
      await bus.close();
    }
  });

  it('close() during the backoff before a restart returns at once, cancels the restart, and leaves no consumer behind', async () => {
    const topic = 'restart-close.events.v1';
    const group = 'closed-while-stopped';
    kafka.broker.createTopic(topic, 1);
    kafka.broker.refuseGroup(group, GROUP_AUTHORIZATION_FAILED);
    const stops: Array<number | undefined> = [];
    // The restart's timer, held here: what close() does to it is seen, not waited for.
    const scheduled: { ms: number; run: () => void; cancelled: boolean }[] = [];
    const bus = new KafkaBus({
      brokers: kafka.broker.brokers,
      topic,
      maxWaitTimeInMs: 100,
      sessionTimeoutMs: 1000,
      heartbeatIntervalMs: 100,
      restartBackoff: { initialMs: 100, maxMs: 100 },
      schedule: (run, ms) => {
        const timer = { ms, run, cancelled: false };
        scheduled.push(timer);
        return () => void (timer.cancelled = true);
      },
      kafka: { logLevel: logLevel.NOTHING },
      onInvalidMessage: () => undefined,
      onConsumerStopped: (_err, _g, restart) => void stops.push(restart?.inMs),
    });
    try {
      await bus.consume(group, async () => undefined);
      await eventually(() => stops.length >= 1, 'the refused consumer to stop');
      expect(bus.consumerStates().map((s) => s.state)).to.deep.equal(['restarting']);
      expect(scheduled.map((t) => [t.ms, t.cancelled]), 'one restart pending').to.deep.equal([[stops[0], false]]);
    } finally {
      kafka.broker.refuseGroup(group, 0);
      await bus.close();
    }
    expect(scheduled.map((t) => t.cancelled), 'the pending restart cancelled by close()').to.deep.equal([true]);
    expect(bus.consumerStates(), 'no consumer left').to.deep.equal([]);
  });

  it('close() while consume() is still joining its group waits for the join, then leaves: no consumer left in the group (was: close() returned at once, kafkajs restarted the consumer after it, and it joined again)', async () => {
    // The group's first rebalance held 1 s (Kafka holds it 3 s), so close() comes while the JoinGroup is pending.
    const slow = await startKafkaBroker({ initialRebalanceDelayMs: 1000 });
    const topic = 'close-while-joining.events.v1';
    const group = 'closed-while-joining';
    slow.createTopic(topic, 1);
    const bus = new KafkaBus({ brokers: slow.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: () => undefined });
    try {
      const consuming = bus.consume(group, async () => undefined).then(
        () => undefined,
        (err: unknown) => err,
      );
      await eventually(() => slow.sessionTimeouts(group).length === 1, 'the consumer to ask to join its group');
      await bus.close();
      expect(slow.sessionTimeouts(group), 'members of the group once close() returned').to.have.length(0);
      expect(await consuming, 'consume() settled').to.equal(undefined);
      expect(bus.consumerStates()).to.deep.equal([]);
    } finally {
      await bus.close();
      await slow.stop();
    }
  });

  it('close() while a restart is still joining its group waits for the join, then leaves: no consumer left in the group', async () => {
    // The group's first rebalance held 1 s, so close() comes while the restart's JoinGroup is pending.
    const slow = await startKafkaBroker({ initialRebalanceDelayMs: 1000 });
    const topic = 'close-while-restarting.events.v1';
    const group = 'closed-while-restarting';
    slow.createTopic(topic, 1);
    // Refused at JoinGroup: the group stays empty, and the restart's join waits for the initial rebalance.
    slow.refuseGroup(group, GROUP_AUTHORIZATION_FAILED);
    const scheduled: Array<() => void> = [];
    const bus = new KafkaBus({
      brokers: slow.brokers,
      topic,
      maxWaitTimeInMs: 100,
      schedule: (run) => (scheduled.push(run), () => undefined),
      kafka: { logLevel: logLevel.NOTHING },
      onInvalidMessage: () => undefined,
    });
    try {
      await bus.consume(group, async () => undefined);
      await eventually(() => scheduled.length === 1, 'the refused consumer to stop, a restart scheduled');
      slow.refuseGroup(group, 0);
      scheduled[0]();
      await eventually(() => slow.sessionTimeouts(group).length === 1, 'the restart to ask to join its group');
      await bus.close();
      expect(slow.sessionTimeouts(group), 'members of the group once close() returned').to.have.length(0);
      expect(bus.consumerStates()).to.deep.equal([]);
    } finally {
      await bus.close();
      await slow.stop();
    }
  });

  it("close() while kafkajs is restarting the consumer on its own (an error it retries) leaves no consumer that kafkajs restarts again (was: it rejoined the group after close(), over and over)", async () => {
    // The group's first rebalance held 1 s, so close() comes while kafkajs's own restart waits on its JoinGroup.
    const slow = await startKafkaBroker({ initialRebalanceDelayMs: 1000 });
    const topic = 'close-while-kafkajs-restarts.events.v1';
    const group = 'closed-while-kafkajs-restarts';
    slow.createTopic(topic, 1);
    // Retried by kafkajs (COORDINATOR_NOT_AVAILABLE): with no retries, it crashes the consumer and restarts it itself.
    slow.refuseGroup(group, COORDINATOR_NOT_AVAILABLE);
    // kafkajs's consumer lines, in order: what it does after close() is seen, not waited for.
    const said: string[] = [];
    const stops: unknown[] = [];
    const bus = new KafkaBus({
      brokers: slow.brokers,
      topic,
      maxWaitTimeInMs: 100,
      kafka: {
        logLevel: logLevel.INFO,
        retry: { retries: 0, initialRetryTime: 100 },
        logCreator: () => (e) => void (e.namespace === 'Consumer' && said.push(String(e.log.message))),
      },
      onInvalidMessage: () => undefined,
      onConsumerStopped: (err) => void stops.push(err),
    });
    try {
      await bus.consume(group, async () => undefined);
      slow.refuseGroup(group, 0);
      await eventually(() => slow.sessionTimeouts(group).length === 1, "kafkajs's restart to ask to join the group");
      // kafkajs's own restart (CRASH with restart: true) is not the bus's: no stop reported, none scheduled, ready.
      expect(said.some((m) => m.startsWith('Restarting the consumer')), 'kafkajs restarted it').to.equal(true);
      expect(stops).to.deep.equal([]);
      expect(bus.consumerStates().map((c) => c.state)).to.deep.equal(['running']);
      await bus.close();
      const after = said.length;
      // Its JoinGroup answered on the closed connection, kafkajs crashes it and means to restart it: then either it is stopped, or it starts again.
      const next = () => said.slice(after).findIndex((m) => m.startsWith('Restarting the consumer'));
      await eventually(() => next() >= 0 && said.slice(after + next() + 1).some((m) => m === 'Stopped' || m === 'Starting'), "kafkajs's restart after close() to be stopped, or to start", 10_000);
      expect(said.slice(after + next() + 1).find((m) => m === 'Stopped' || m === 'Starting'), said.slice(after).join(' | ')).to.equal('Stopped');
    } finally {
      await bus.close();
      await slow.stop();
    }
  });

  it('a session timeout the brokers refuse (ConfigError) is not restarted: it stays stopped, and readiness and the gauge say so with the setting', async () => {
    const refusing = await startKafkaBroker({ groupSessionTimeoutMs: { min: 6000, max: 1_800_000 } });
    const group = 'too-short-session';
    const stops: { err: unknown; restartInMs?: number }[] = [];
    const registry = new Registry();
    const bus = new KafkaBus({
      brokers: refusing.brokers,
      topic: 'refused-session.events.v1',
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 1000,
      restartBackoff: { initialMs: 50, maxMs: 50 },
      kafka: { logLevel: logLevel.NOTHING },
      onInvalidMessage: () => undefined,
      onConsumerStopped: (err, _g, restart) => void stops.push({ err, restartInMs: restart?.inMs }),
    });
    trackKafkaConsumers(registry, bus);
    const readiness = kafkaConsumerReadiness(bus, group);
    try {
      await bus.consume(group, async () => undefined);
      await eventually(() => stops.length >= 1, 'the refused consumer to stop');
      expect(stops[0].err).to.have.property('code', 'CONFIG_INVALID');
      expect(stops[0].restartInMs, 'not restarted').to.equal(undefined);
      expect(bus.consumerStates().map((s) => s.state)).to.deep.equal(['stopped']);
      const down = await readiness.check();
      expect(down.state).to.equal('degraded');
      expect(down.detail, down.detail).to.match(new RegExp(`^group ${group} stopped since .*: CONFIG_INVALID: the brokers refuse KAFKA_SESSION_TIMEOUT_MS=3000.*: set KAFKA_SESSION_TIMEOUT_MS within the brokers' range and restart; not restarted: `));
      expect(await stoppedGauge(registry, group)).to.equal(1);
      expect(bus.consumerStates()[0].restartAt, 'no restart pending').to.equal(undefined);
      expect(stops).to.have.length(1);
    } finally {
      await bus.close();
      await refusing.stop();
    }
  });
});
