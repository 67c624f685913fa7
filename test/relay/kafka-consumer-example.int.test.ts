import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { toKafkaMessage } from '../../src/bus/kafka';
import { catalog } from '../../events';
import { computeEventHash, createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Relay } from '../../src/relay';
import { appendEvents, brokerAndLogPerSuite, openTestLog, type TestLog } from './event-log-fixture';
import { kafkaConnectionSecurity } from '../../src/bus/kafka/connection-security';
import { loadConfig } from '../../src/config';
import { kafkaTestTls, kafkaTlsFile, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';

const example = join(__dirname, '..', '..', 'examples', 'kafka-consumer.ts');

type ExampleRun = Promise<{ code: number; stdout: string; stderr: string }> & {
  /** Settles once the example has printed `text`, or has exited without it (its output then says so). */
  printed(text: string): Promise<void>;
};

function runExample(brokers: string[], args: string[], prefix = 'example', env: Record<string, string> = {}): ExampleRun {
  let out = '';
  let exited = false;
  const waiting: { text: string; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of [...waiting]) {
      if (!exited && !out.includes(w.text)) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  };
  const run = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', example, ...args],
      { env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        exited = true;
        settle();
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdout?.on('data', (chunk: Buffer | string) => {
      out += String(chunk);
      settle();
    });
  });
  return Object.assign(run, {
    printed: (text: string) =>
      new Promise<void>((resolve) => {
        waiting.push({ text, resolve });
        settle();
      }),
  });
}

/** Publishes what `log` holds to `topic` through a relay, then stops it. */
async function publishAll(brokers: string[], log: Pick<TestLog, 'store' | 'checkpoints'>, topic: string): Promise<void> {
  const relay = new Relay(log.store, log.checkpoints, { brokers, topic, registry: new Registry() });
  await relay.start();
  await relay.waitFor();
  await relay.stop();
}

/** Writes `messages` to `topic` as someone other than the relay would. */
async function produce(brokers: string[], topic: string, messages: Message[]): Promise<void> {
  const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

describe('examples/kafka-consumer.ts', function () {
  this.timeout(60_000);
  const env = brokerAndLogPerSuite();

  it('reads what the relay published, checks every hash, and flags a tampered event', async () => {
    const stored = await appendEvents(env.log.store, 4, 5);
    await publishAll(env.broker.brokers, env.log, 'example.events.v1');

    const clean = await runExample(env.broker.brokers, ['--group', 'ex1', '--from-beginning', '--max', '20']);
    expect(clean.stdout).to.contain('20 events, 0 hash mismatches');
    expect(clean.code).to.equal(0);

    const forged = toKafkaMessage({ ...stored[0], id: '0193a0c0-0000-7000-8000-000000000001', data: { i: 999 } });
    await produce(env.broker.brokers, 'example.events.v1', [forged]);
    const tampered = await runExample(env.broker.brokers, ['--group', 'ex2', '--from-beginning', '--max', '21']);
    expect(tampered.stdout).to.contain('21 events, 1 hash mismatches');
    expect(tampered.code).to.equal(1);
  });

  it('a forged copy of an event that comes before the genuine one (same event-id, hash off) does not hide it: the id counts as seen only once an envelope checks out', async () => {
    const topic = 'forgedfirst.events.v1';
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 2, 2);
    await produce(env.broker.brokers, topic, [toKafkaMessage({ ...stored[0], data: { forged: true } })]);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const run = await runExample(env.broker.brokers, ['--group', 'ex4', '--from-beginning', '--max', String(stored.length + 1)], 'forgedfirst');
    expect(run.stdout, run.stdout).to.contain(`${stored.length + 1} events, 1 hash mismatches`);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('ok ') && l.includes(`${stored[0].stream}#0 `))).to.have.length(1);
  });

  it('flags a copy whose key or headers disagree with its envelope (a consumer routes on them unparsed), and still takes the genuine event that comes after it', async () => {
    const topic = 'headers.events.v1';
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 2, 2);
    const [first, second] = stored.filter((e) => e.stream === stored[0].stream);
    // An event of another log, never published: its copy is the only one on the topic.
    const other = await openTestLog();
    const [elsewhere] = await appendEvents(other.store, 1, 1);
    await other.close();
    // Copies of genuine envelopes (each hash checks out) with one routing field changed. Those of
    // the first stream go to its partition before the relay publishes it, so they come first.
    const tampered = [
      { ...toKafkaMessage(first), headers: { ...toKafkaMessage(first).headers, tenant: 'someone-else' } },
      { ...toKafkaMessage(second), headers: { ...toKafkaMessage(second).headers, 'event-type': 'TaskCancelled' } },
      { ...toKafkaMessage(elsewhere), key: stored[0].stream },
    ];
    await produce(env.broker.brokers, topic, tampered);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const run = await runExample(env.broker.brokers, ['--group', 'ex6', '--from-beginning', '--max', String(stored.length + tampered.length)], 'headers');
    expect(run.stdout, run.stdout).to.contain(`${stored.length + tampered.length} events, 3 hash mismatches`);
    expect(run.stdout).to.match(/^BAD .* header tenant is someone-else, the envelope says (acme|globex)$/m);
    expect(run.stdout).to.match(/^BAD .* header event-type is TaskCancelled, the envelope says TaskStepRecorded$/m);
    expect(run.stdout).to.match(new RegExp(`^BAD .* key is ${stored[0].stream}, the envelope's stream ${elsewhere.stream}$`, 'm'));
    for (const e of stored) expect(run.stdout.split('\n').filter((l) => l.startsWith('ok ') && l.includes(`${e.stream}#${e.revision} `)), `${e.stream}#${e.revision}`).to.have.length(1);
    expect(run.code).to.equal(1);
  });

  it('checks every copy, a repeat too: a forged copy that comes after the genuine event (content or a header changed) is reported BAD, not passed over as its repeat', async () => {
    const topic = 'forgedafter.events.v1';
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 2, 2);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const genuine = toKafkaMessage(stored[0]);
    await produce(env.broker.brokers, topic, [
      toKafkaMessage({ ...stored[0], data: { forged: true } }),
      { ...genuine, headers: { ...genuine.headers, tenant: 'someone-else' } },
      // A genuine repeat (as after a relay restart): dropped without a word.
      genuine,
    ]);
    const run = await runExample(env.broker.brokers, ['--group', 'ex10', '--from-beginning', '--max', String(stored.length + 2)], 'forgedafter');
    expect(run.stdout, run.stdout).to.contain(`${stored.length + 2} events, 2 hash mismatches`);
    expect(run.stdout).to.match(new RegExp(`^BAD p\\d+@\\d+ ${stored[0].stream}#0 .* computed 0x[0-9a-f]{64}$`, 'm'));
    expect(run.stdout).to.match(new RegExp(`^BAD p\\d+@\\d+ ${stored[0].stream}#0 .* header tenant is someone-else, the envelope says (acme|globex)$`, 'm'));
    expect(run.stdout.split('\n').filter((l) => l.startsWith('ok ') && l.includes(`${stored[0].stream}#0 `))).to.have.length(1);
    expect(run.code).to.equal(1);
  });

  it('reports a repeat whose revision or position is not the event\'s (outside the hash, so only the first copy can tell): it was dropped as a repeat without a word', async () => {
    const topic = 'movedrepeat.events.v1';
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 1, 2);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    await produce(env.broker.brokers, topic, [toKafkaMessage({ ...stored[1], position: stored[1].position + 1000 }), toKafkaMessage({ ...stored[1], revision: 7 }), toKafkaMessage(stored[1])]);
    const run = await runExample(env.broker.brokers, ['--group', 'ex11', '--from-beginning', '--max', String(stored.length + 2)], 'movedrepeat');
    expect(run.stdout, run.stdout).to.contain(`${stored.length + 2} events, 2 hash mismatches`);
    expect(run.stdout).to.contain(` ${stored[1].stream}#${stored[1].revision} ${stored[1].type} `);
    expect(run.stdout).to.match(new RegExp(`^BAD p\\d+@\\d+ ${stored[1].stream}#1 .* a repeat at revision 1, position ${stored[1].position + 1000}; the event is at revision 1, position ${stored[1].position}$`, 'm'));
    expect(run.stdout).to.match(new RegExp(`^BAD p\\d+@\\d+ ${stored[1].stream}#7 .* a repeat at revision 7, position ${stored[1].position}; the event is at revision 1, position ${stored[1].position}$`, 'm'));
    expect(run.code).to.equal(1);
  });

  it('checks an event whose data has a key named __proto__ as it was hashed (a parser that copies objects by assignment drops that key)', async () => {
    const topic = 'proto.events.v1';
    const log = await openTestLog();
    const content = {
      id: newId(),
      type: 'TaskSubmitted',
      version: 1,
      stream: `task-${newId()}`,
      occurredAt: '2026-11-22T10:00:00.000Z',
      tenant: 'acme',
      actor: { kind: 'user', id: 'alice' },
      data: JSON.parse('{"__proto__":{"x":1},"note":"own key"}') as Record<string, unknown>,
    } as const;
    await log.store.append(content.stream, [{ ...content, hash: computeEventHash(content) }]);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const run = await runExample(env.broker.brokers, ['--group', 'ex7', '--from-beginning', '--max', '1'], 'proto');
    expect(run.stdout, run.stdout).to.contain('1 events, 0 hash mismatches');
    expect(run.code).to.equal(0);
  });

  it('reads each checked event as the latest version of its type (the upcasters), and names one from a newer release instead of misreading it', async () => {
    const topic = 'versions.events.v1';
    const log = await openTestLog();
    const stream = `task-${newId()}`;
    const old = createEvent({ type: 'TaskSubmitted', version: 1, stream, tenant: 'acme', actor: { kind: 'user', id: 'alice' }, data: { steps: [] } });
    const newer = createEvent({ type: 'TaskEscalated', version: 1, stream, tenant: 'acme', actor: { kind: 'system', id: 'later-release' }, data: { level: 2 } });
    await log.store.append(stream, [old, newer]);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const run = await runExample(env.broker.brokers, ['--group', 'ex8', '--from-beginning', '--max', '2'], 'versions');
    expect(run.stdout, run.stdout).to.match(new RegExp(`^ok  p\\d+@0 ${stream}#0 TaskSubmitted 0x[0-9a-f]{16}… read as v${catalog.latestVersion('TaskSubmitted')}$`, 'm'));
    expect(run.stdout).to.match(new RegExp(`^ok  p\\d+@1 ${stream}#1 TaskEscalated 0x[0-9a-f]{16}… from a newer release: not read$`, 'm'));
    expect(run.stdout).to.contain('2 events, 0 hash mismatches');
    expect(run.code).to.equal(0);
  });

  it('reports an envelope whose content has no canonical form (a float in data) as BAD and goes on, instead of being handed it again for ever', async () => {
    const topic = 'float.events.v1';
    const log = await openTestLog();
    const [genuine] = await appendEvents(log.store, 1, 1);
    await log.close();
    const float = toKafkaMessage({ ...genuine, id: newId(), revision: 1, data: { ratio: 0.5 } });
    // In one partition: the float first, the genuine event behind it.
    await produce(env.broker.brokers, topic, [float, toKafkaMessage(genuine)]);
    const run = await runExample(env.broker.brokers, ['--group', 'ex9', '--from-beginning', '--max', '2'], 'float');
    expect(run.stdout, run.stdout).to.match(/^BAD p\d+@0 .* no canonical form, so no hash: \$\.data\.ratio: numbers must be safe integers \(use a string for 0\.5\)$/m);
    expect(run.stdout).to.match(new RegExp(`^ok  p\\d+@1 ${genuine.stream}#0 `, 'm'));
    expect(run.stdout).to.contain('2 events, 1 hash mismatches');
    expect(run.code).to.equal(1);
  });

  it('started before the topic exists (deployed ahead of the gateway), waits for the relay to create it instead of exiting, then reads every event', async () => {
    const topic = 'late.events.v1';
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 2, 3);
    const run = runExample(env.broker.brokers, ['--group', 'ex5', '--from-beginning', '--max', String(stored.length)], 'late');
    // Once the example has asked for the topic and been told it does not exist (a fixed wait was
    // too short for a loaded machine, where the example had not started yet).
    await run.printed('waiting for topic late.events.v1');
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    const { code, stdout } = await run;
    expect(stdout, stdout).to.contain('waiting for topic late.events.v1');
    expect(stdout, stdout).to.contain(`${stored.length} events, 0 hash mismatches`);
    expect(code).to.equal(0);
  });

  it('reports a message that is not an event envelope (not JSON, no event-id header) as BAD and goes on, instead of stopping at it for good', async () => {
    const topic = 'poison.events.v1';
    // A log of its own: the suite's holds the first test's events too.
    const log = await openTestLog();
    const stored = await appendEvents(log.store, 2, 2);
    await publishAll(env.broker.brokers, log, topic);
    await log.close();
    // Both into the partition of a stream that has events after them.
    const after = toKafkaMessage({ ...stored[stored.length - 1], id: '0193a0c0-0000-7000-8000-000000000002' });
    await produce(env.broker.brokers, topic, [
      { key: stored[0].stream, value: 'not json', headers: { 'event-id': '0193a0c0-0000-7000-8000-000000000003' } },
      { key: stored[0].stream, value: '{"id":"0193a0c0-0000-7000-8000-000000000004"}' },
      { ...after, key: stored[0].stream },
    ]);
    const run = await runExample(env.broker.brokers, ['--group', 'ex3', '--from-beginning', '--max', '7'], 'poison');
    expect(run.stdout, run.stdout).to.match(/BAD p\d+@\d+ not an event envelope/);
    expect(run.stdout).to.contain('7 events, 3 hash mismatches');
    expect(run.code).to.equal(1);
  });
});

describe('examples/kafka-consumer.ts against brokers that require TLS and SASL', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let log: TestLog;
  before(async () => {
    broker = await startKafkaBroker({ tls: kafkaTestTls(), sasl: { mechanisms: ['SCRAM-SHA-256'], users: { relay: 'relay-secret', reader: 'reader-secret' } } });
    log = await openTestLog();
  });
  after(async () => {
    await log?.close();
    await broker?.stop();
  });
  const settings = (user: string, password: string) => ({ KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem'), KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password });

  it('connects with the gateway\'s KAFKA_SSL* and KAFKA_SASL_* settings and checks what the relay published; a wrong password exits 2 naming KAFKA_SASL_*', async () => {
    const stored = await appendEvents(log.store, 2, 2);
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'secure.events.v1', registry: new Registry(), kafka: { ...kafkaConnectionSecurity(loadConfig(settings('relay', 'relay-secret'), '/x')), logLevel: logLevel.NOTHING } });
    await relay.start();
    await relay.waitFor();
    await relay.stop();

    const run = await runExample(broker.brokers, ['--group', 'secure', '--from-beginning', '--max', String(stored.length)], 'secure', settings('reader', 'reader-secret'));
    expect(run.stdout, run.stdout + run.stderr).to.contain(`${stored.length} events, 0 hash mismatches`);
    expect(run.code).to.equal(0);

    const refused = await runExample(broker.brokers, ['--group', 'secure2', '--from-beginning', '--max', '1'], 'secure', settings('reader', 'wrong-secret'));
    expect(refused.code, refused.stdout + refused.stderr).to.equal(2);
    expect(refused.stderr).to.match(/refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
    expect(refused.stderr).not.to.contain('wrong-secret');
  });

  it('a setting that does not hold exits 2 naming it, before any broker is asked', async () => {
    const run = await runExample(broker.brokers, ['--max', '1'], 'secure', { KAFKA_SASL_MECHANISM: 'scram-sha-256' });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain('KAFKA_SASL_MECHANISM=scram-sha-256 needs KAFKA_SASL_USERNAME too');
  });
});
