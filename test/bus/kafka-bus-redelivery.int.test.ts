/**
 * A batch the handler cannot apply (a poison event, the database down) is delivered again after a
 * backoff by the member that holds its partition, without leaving the group: a consumer
 * crash/restart per retry made every member of the group stop and rejoin (a rebalance per retry),
 * holding up the healthy partitions everywhere. Real kafkajs against the test broker, which counts
 * JoinGroup (11) and LeaveGroup (13) requests.
 */
import { expect } from 'chai';
import { logLevel, type Producer } from 'kafkajs';
import { KafkaBus, toKafkaMessage } from '../../src/bus/kafka';
import type { RecordedEvent } from '../../src/core/envelope';
import { brokerWithProducer, eventually, taskStartedEvent } from './support/kafka-fixture';

const JOIN_GROUP = 11;
const LEAVE_GROUP = 13;

const sendTo = (producer: Producer, topic: string, partition: number, events: RecordedEvent[]) =>
  producer.send({ topic, messages: events.map((e) => ({ ...toKafkaMessage(e), partition })) });

describe('KafkaBus redelivery of a failed batch (kafkajs against the test broker)', function () {
  this.timeout(60_000);
  const kafka = brokerWithProducer();

  it('retries a poisoned partition within its member, with no rejoin or rebalance, while the other partitions flow; commits once it applies', async () => {
    const topic = 'poison.events.v1';
    const group = 'poisoned';
    kafka.broker.createTopic(topic, 3);
    const applied: string[] = [];
    const poison = taskStartedEvent();
    const afterPoison = taskStartedEvent(poison.stream, 1);
    let poisoned = true;
    let attempts = 0;
    const handler = async (batch: RecordedEvent[]) => {
      if (batch.some((e) => e.id === poison.id)) {
        attempts++;
        if (poisoned) throw new Error('cannot apply');
      }
      applied.push(...batch.map((e) => e.id));
    };
    // A backoff that grows past the session timeout: the member must keep heartbeating while it
    // waits, or the coordinator would expel it (a rebalance). kafkajs's own retry is short, as in
    // the other bus tests, so that nothing here depends on it being long.
    const member = () =>
      new KafkaBus({
        brokers: kafka.broker.brokers,
        topic,
        maxWaitTimeInMs: 100,
        sessionTimeoutMs: 1000,
        heartbeatIntervalMs: 100,
        backoff: { initialMs: 100, maxMs: 1200 },
        kafka: { logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 1 } },
        onInvalidMessage: () => undefined,
      });
    const a = member();
    const b = member();
    try {
      await Promise.all([a.consume(group, handler), b.consume(group, handler)]);
      // The group formed, each partition held by one of the two members.
      const warm = [0, 1, 2].map(() => taskStartedEvent());
      for (const [p, e] of warm.entries()) await sendTo(kafka.producer, topic, p, [e]);
      await eventually(() => warm.every((e) => applied.includes(e.id)), 'one event per partition');
      const joins = kafka.broker.requests(JOIN_GROUP);
      const leaves = kafka.broker.requests(LEAVE_GROUP);

      await sendTo(kafka.producer, topic, 0, [poison, afterPoison]);
      // Healthy partitions 1 and 2 (one on the poisoned partition's member, one on the other) keep applying meanwhile.
      const healthy: RecordedEvent[] = [];
      for (let i = 0; attempts < 6; i++) {
        const e = taskStartedEvent();
        healthy.push(e);
        await sendTo(kafka.producer, topic, 1 + (i % 2), [e]);
        await eventually(() => applied.includes(e.id), `healthy event ${i} while partition 0 is retried`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(applied).to.not.include(poison.id);
      expect(applied).to.not.include(afterPoison.id);
      expect(kafka.broker.requests(JOIN_GROUP) - joins, 'JoinGroup requests while retrying').to.equal(0);
      expect(kafka.broker.requests(LEAVE_GROUP) - leaves, 'LeaveGroup requests while retrying').to.equal(0);
      // Nothing of partition 0 committed past the poison: the group's lag counts both events.
      expect(await a.pending(group)).to.equal(2);

      poisoned = false;
      await eventually(() => applied.includes(afterPoison.id), 'the batch once the poison is cleared');
      expect(applied.indexOf(afterPoison.id)).to.be.greaterThan(applied.indexOf(poison.id));
      await eventually(async () => (await a.pending(group)) === 0, 'the offset committed after the batch applied');
      expect(kafka.broker.requests(JOIN_GROUP) - joins, 'JoinGroup requests in all').to.equal(0);
      expect(kafka.broker.requests(LEAVE_GROUP) - leaves, 'LeaveGroup requests in all').to.equal(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('stops promptly while a failed batch waits out its backoff, and a later consumer gets the batch again', async () => {
    const topic = 'poison-stop.events.v1';
    const group = 'stopping';
    kafka.broker.createTopic(topic, 1);
    const poison = taskStartedEvent();
    await sendTo(kafka.producer, topic, 0, [poison]);
    let attempts = 0;
    // Long waits, kafkajs's retry too: neither may hold stop() up. Ten minutes, so that the bound
    // on stop() below can be generous for a loaded machine (it was 3 s against a 10 s backoff).
    const bus = new KafkaBus({
      brokers: kafka.broker.brokers,
      topic,
      maxWaitTimeInMs: 100,
      backoff: { initialMs: 600_000, maxMs: 600_000 },
      kafka: { logLevel: logLevel.NOTHING, retry: { initialRetryTime: 600_000, maxRetryTime: 600_000, retries: 5 } },
      onInvalidMessage: () => undefined,
    });
    try {
      const consumer = await bus.consume(group, async () => {
        attempts++;
        throw new Error('database down');
      });
      await eventually(() => attempts >= 1, 'the first attempt');
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      await consumer.stop();
      expect(Date.now() - t0, 'stop() during a 10 min backoff (ms)').to.be.below(30_000);
      expect(attempts).to.equal(1);
    } finally {
      await bus.close();
    }
    // Never committed: the next consumer of the group starts at the failed batch.
    const got: string[] = [];
    const next = new KafkaBus({ brokers: kafka.broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING }, onInvalidMessage: () => undefined });
    try {
      await next.consume(group, async (batch) => void got.push(...batch.map((e) => e.id)));
      await eventually(() => got.includes(poison.id), 'the failed batch, delivered again');
      await eventually(async () => (await next.pending(group)) === 0, 'its offset committed');
    } finally {
      await next.close();
    }
  });
});
