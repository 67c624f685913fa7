/**
 * ensureEventsTopic with the real kafkajs client against the wire-protocol test broker. In one
 * process the relay and the projector's bus each ensure the topic at start, at the same moment:
 * the loser's CreateTopics came back TOPIC_ALREADY_EXISTS, which the code took as done but kafkajs
 * logged at ERROR ("Topic creation errors"), alarming operators at every first start. Two
 * processes still race: the loser logged that line, and with a topic whose leaders were not yet
 * elected, failed (or, with retries, logged more ERROR lines) asking its metadata.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import { Registry } from 'prom-client';
import { ensureEventsTopic, KafkaBus } from '../../src/bus/kafka';
import { Relay } from '../../src/relay';
import { startFixtureProcess } from '../support/fixture-process';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { openTestLog } from '../relay/event-log-fixture';

type Line = { level: number; namespace: string; message: string };

const CREATE_TOPICS = 19;

describe('ensureEventsTopic (kafkajs against the test broker)', function () {
  this.timeout(30_000);
  let broker: KafkaBroker;
  let lines: Line[];
  const capture: logCreator = () => ({ level, namespace, log }) => void lines.push({ level, namespace, message: String(log.message) });
  /** A client of its own, as the relay and the bus each build one, logging into `lines`. */
  const client = (): KafkaConfig => ({ brokers: broker.brokers, clientId: 'openmcp', logLevel: logLevel.INFO, logCreator: capture, retry: { retries: 0 } });
  const errors = () => lines.filter((l) => l.level === logLevel.ERROR);

  beforeEach(async () => {
    lines = [];
    broker = await startKafkaBroker();
  });
  afterEach(async () => broker?.stop());

  it('creates the topic with the settings of docs/consumers.md: 6 partitions, max.message.bytes 4 MiB + 64 KiB, cleanup.policy delete whatever the brokers default to (the key is the stream: compaction would keep each stream\'s last event only)', async () => {
    expect(await ensureEventsTopic(client(), 'contract.events.v1')).to.equal(6);
    expect(broker.topicConfigs('contract.events.v1')).to.deep.equal({ 'max.message.bytes': '4259840', 'cleanup.policy': 'delete' });
  });

  it('two ensures at once in one process (relay and bus, each its own client) send one CreateTopics and log no ERROR line', async () => {
    const [a, b] = await Promise.all([ensureEventsTopic(client(), 'race.events.v1'), ensureEventsTopic(client(), 'race.events.v1')]);
    expect([a, b]).to.deep.equal([6, 6]);
    expect(broker.highWatermarks('race.events.v1')).to.have.length(6);
    expect(errors(), JSON.stringify(errors())).to.deep.equal([]);
    expect(broker.requests(CREATE_TOPICS)).to.equal(1);
  });

  it('the relay and the bus starting together, as one process runs them (each told KAFKA_BROKERS): one CreateTopics, no ERROR line', async () => {
    const log = await openTestLog();
    // Copies of one list, as main.ts gives each its own split of KAFKA_BROKERS.
    const relay = new Relay(log.store, log.checkpoints, { brokers: [...broker.brokers], topic: 'app.events.v1', registry: new Registry(), kafka: { logLevel: logLevel.INFO, logCreator: capture } });
    const bus = new KafkaBus({ brokers: [...broker.brokers], topic: 'app.events.v1', kafka: { logLevel: logLevel.INFO, logCreator: capture }, onInvalidMessage: () => {} });
    try {
      await Promise.all([relay.start(), bus.consume('projector', async () => {})]);
      expect(errors(), JSON.stringify(errors())).to.deep.equal([]);
      expect(broker.requests(CREATE_TOPICS)).to.equal(1);
    } finally {
      await bus.close();
      await relay.stop();
      await log.close();
    }
  });

  it('two processes creating it at the same moment, while Kafka elects its leaders: each gets its partitions once led, neither logs an ERROR line', async () => {
    // Both find it missing and both ask to create it: one gets TOPIC_ALREADY_EXISTS, at once, before the leaders are elected.
    broker.holdCreateTopics(2);
    broker.electLeadersAfter(300);
    const other = startFixtureProcess<{ partitions?: number; error?: string; errors: string[] }>('ensure-topic process', join(__dirname, 'support', 'ensure-topic-process.ts'), [broker.brokers[0], 'twice.events.v1']);
    const mine = await ensureEventsTopic(client(), 'twice.events.v1');
    const theirs = await other;
    await theirs.stop();
    expect(broker.requests(CREATE_TOPICS), 'the race happened').to.equal(2);
    expect({ partitions: mine, errors: errors().map((l) => l.message) }).to.deep.equal({ partitions: 6, errors: [] });
    expect(theirs.info).to.deep.equal({ partitions: 6, errors: [] });
  });

  it('ensures of different topics are each done by their caller: one CreateTopics each', async () => {
    const counts = await Promise.all([ensureEventsTopic(client(), 'one.events.v1', { partitions: 2 }), ensureEventsTopic(client(), 'two.events.v1', { partitions: 3 })]);
    expect(counts).to.deep.equal([2, 3]);
    expect(broker.requests(CREATE_TOPICS)).to.equal(2);
    expect(errors()).to.deep.equal([]);
  });

  it('a real refusal still fails each ensure with its error (and kafkajs still logs it); the next ensure tries again', async () => {
    broker.refuseTopic('denied.events.v1', 29);
    const results = await Promise.allSettled([ensureEventsTopic(client(), 'denied.events.v1'), ensureEventsTopic(client(), 'denied.events.v1')]);
    for (const r of results) {
      expect(r.status).to.equal('rejected');
      const err = (r as PromiseRejectedResult).reason as { errors?: { type: string }[] };
      expect(err.errors?.map((e) => e.type)).to.deep.equal(['TOPIC_AUTHORIZATION_FAILED']);
    }
    expect(broker.requests(CREATE_TOPICS), 'each tried itself, one after the other').to.equal(2);
    expect(errors().map((l) => l.message).join('\n')).to.match(/CreateTopics/);

    broker.refuseTopic('denied.events.v1', 0);
    expect(await ensureEventsTopic(client(), 'denied.events.v1')).to.equal(6);
  });
});
