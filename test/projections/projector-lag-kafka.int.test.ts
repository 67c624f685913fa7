/**
 * The projection lag gauge over the Kafka bus (test broker): partitions are applied out of global
 * order, so a partition that is held up (a poison event, a slow member) must show in the lag even
 * while another partition has applied the newest positions of the log.
 */
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaBus, toKafkaMessage } from '../../src/bus/kafka';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { eventsAfter } from '../../src/eventstore/events-after';
import { kafkaProjectionLag } from '../../src/projector/kafka-lag';
import { Projector } from '../../src/projector/projector';
import { defaultAppliers } from '../../projections';
import type { ProjectionApplier } from '../../projections/projection';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { openTestDb, type TestDb } from './support';

const actor = { kind: 'system' as const, id: 'test' };

async function appendTask(db: TestDb, types: string[]): Promise<RecordedEvent[]> {
  const stream = `task-${newId()}`;
  const events = types.map((type) => createEvent({ type, stream, tenant: 'acme', actor, data: type === 'TaskSubmitted' ? { steps: [] } : {} }));
  return (await db.store.append(stream, events)).events;
}

async function lagOf(registry: Registry, projection: string): Promise<number> {
  const text = await registry.getSingleMetricAsString('openmcp_projection_lag_events');
  const m = new RegExp(`projection="${projection}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('projection lag over Kafka (test broker)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let db: TestDb;
  let bus: KafkaBus | undefined;
  let projector: Projector | undefined;

  before(async () => {
    broker = await startKafkaBroker();
    db = await openTestDb('sqlite');
  });
  after(async () => {
    await projector?.stop();
    await bus?.close();
    await db?.close();
    await broker?.stop();
  });

  it('counts the events of a held-up partition while another partition has applied the newest positions', async () => {
    const topic = 'lag.events.v1';
    const group = 'lag-projector';
    broker.createTopic(topic, 2);
    const held = await appendTask(db, ['TaskSubmitted', 'TaskStarted', 'TaskCompleted']);
    const flowing = await appendTask(db, ['TaskSubmitted', 'TaskStarted', 'TaskCompleted']);
    const unpublished = await appendTask(db, ['TaskSubmitted']);
    const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic, messages: held.map((e) => ({ ...toKafkaMessage(e), partition: 0 })) });
    await producer.send({ topic, messages: flowing.map((e) => ({ ...toKafkaMessage(e), partition: 1 })) });
    await producer.disconnect();
    // The relay has published everything but the last task (its checkpoint, as the relay keeps it).
    const checkpoints = new SqlCheckpointStore(db.knex);
    await checkpoints.save(`relay:${topic}`, flowing[flowing.length - 1].position);

    // A poison event in partition 0: the tasks projection cannot apply it, every attempt fails.
    let poison: string | undefined = held[1].id;
    const appliers: ProjectionApplier[] = defaultAppliers().map((a) =>
      a.name !== 'tasks'
        ? a
        : {
            ...a,
            apply: async (trx, t, events, touched) => {
              if (events.some((e) => e.id === poison)) throw new Error('cannot apply');
              await a.apply(trx, t, events, touched);
            },
          },
    );
    const registry = new Registry();
    const errors: unknown[] = [];
    bus = new KafkaBus({ brokers: broker.brokers, topic, maxWaitTimeInMs: 100, kafka: { logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 1 } }, onInvalidMessage: () => undefined });
    // As main.ts wires it when KAFKA_BROKERS is set.
    const groupLag = kafkaProjectionLag({ store: db.store, checkpoints, bus, group });
    projector = new Projector({ knex: db.knex, bus, group, appliers, registry, eventsAfter: (p) => eventsAfter(db.store, p), lag: groupLag, onError: (e) => errors.push(e) });
    await projector.start();
    const last = flowing[flowing.length - 1].position;
    const done = projector.applied.wait(last);
    await done.promise;
    const deadline = Date.now() + 20_000;
    while (!errors.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(errors, 'the poison event failed').to.not.be.empty;

    // Unapplied: the whole held-up batch of partition 0 (3) and the task the relay has not published (1).
    let lag = await lagOf(registry, 'tasks');
    while (lag !== 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      lag = await lagOf(registry, 'tasks');
    }
    expect(lag, 'tasks lag').to.equal(4);
    expect(await lagOf(registry, 'audit-log'), 'audit-log lag').to.equal(4);

    // The projection fixed and the last task published: nothing left, on either side.
    poison = undefined;
    const again = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await again.connect();
    await again.send({ topic, messages: unpublished.map((e) => ({ ...toKafkaMessage(e), partition: 1 })) });
    await again.disconnect();
    await checkpoints.save(`relay:${topic}`, unpublished[0].position);
    while (lag !== 0 && Date.now() < deadline + 20_000) {
      await new Promise((r) => setTimeout(r, 50));
      lag = await lagOf(registry, 'tasks');
    }
    expect(lag, 'tasks lag once caught up').to.equal(0);
    expect(await db.knex('rm_tasks').where('id', held[0].stream.slice(5)).first('status')).to.deep.equal({ status: 'completed' });
  });
});
