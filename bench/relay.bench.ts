/**
 * Relay throughput: event store (SQLite) → Kafka topic through the relay, next to a baseline
 * measured in the same run: the same messages sent by a plain idempotent kafkajs producer in
 * batches of the same size (no store reads, no checkpoints). The Kafka side is the protocol-level
 * test broker in its own process, so figures compare the two paths, not a production cluster.
 * Run: npx tsx bench/relay.bench.ts   (BENCH_RELAY_EVENTS, default 20000)
 */
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { toKafkaMessage } from '../src/bus/kafka';
import { Relay } from '../src/relay';
import { startBrokerProcess } from '../test/support/kafka-broker';
import { appendEvents, openTestLog } from '../test/relay/event-log-fixture';
import { printTable } from './stats';

const TOTAL = Number(process.env.BENCH_RELAY_EVENTS ?? 20_000);
const BATCH = 500;

async function main() {
  const broker = await startBrokerProcess(['--partitions', '6']);
  const log = await openTestLog();
  try {
    const events = await appendEvents(log.store, 200, Math.ceil(TOTAL / 200));
    const kafka = new Kafka({ brokers: broker.brokers, clientId: 'bench', logLevel: logLevel.WARN });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'baseline.events.v1', numPartitions: 6 }] });
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const messages = events.map(toKafkaMessage);
    const b0 = performance.now();
    for (let i = 0; i < messages.length; i += BATCH) {
      await producer.send({ topic: 'baseline.events.v1', acks: -1, messages: messages.slice(i, i + BATCH) });
    }
    const baseRate = events.length / ((performance.now() - b0) / 1000);
    await producer.disconnect();

    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, maxBatch: BATCH, registry: new Registry() });
    const r0 = performance.now();
    await relay.start();
    await relay.waitFor(events[events.length - 1].position, 300_000);
    const relayRate = events.length / ((performance.now() - r0) / 1000);
    await relay.stop();

    printTable([
      { run: `baseline: idempotent producer, ${BATCH}/send`, events: events.length, 'events/s': Math.round(baseRate), 'vs baseline': '1.00' },
      { run: 'relay: SQLite log → topic, checkpointed', events: events.length, 'events/s': Math.round(relayRate), 'vs baseline': (relayRate / baseRate).toFixed(2) },
    ]);
  } finally {
    await log.close();
    await broker.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
