import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaBus } from '../../src/bus/kafka';
import { kafkaConnectionSecurity } from '../../src/bus/kafka/connection-security';
import { loadConfig } from '../../src/config';
import type { RecordedEvent } from '../../src/core/envelope';
import { Relay } from '../../src/relay';
import { kafkaTestTls, kafkaTlsFile, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, eventually, openTestLog, type TestLog } from '../relay/event-log-fixture';

const USERS = { relay: 'relay-secret', projector: 'projector-secret' };

/**
 * The kafkajs options main gives every client for these settings (loadConfig, then the one
 * builder); `refused`: no retries of the connection (one expected to fail fails at once).
 */
function clientOptions(env: Record<string, string>, refused = false): Omit<KafkaConfig, 'brokers'> {
  // Every line kafkajs logs, down to DEBUG, kept to check no password is in one.
  const logCreator: logCreator = () => (entry) => void kafkaLines.push(JSON.stringify(entry));
  return { ...kafkaConnectionSecurity(loadConfig(env, '/x')), logLevel: logLevel.DEBUG, logCreator, ...(refused ? { retry: { retries: 0 } } : {}) };
}
const kafkaLines: string[] = [];

/** The error `start` rejects with (fails the test when it resolves). */
async function failure(start: Promise<unknown>): Promise<Error & { code?: string }> {
  return start.then(
    () => expect.fail('should have been refused'),
    (e: Error & { code?: string }) => e,
  );
}

describe('Kafka over TLS and SASL (kafkajs against the test broker)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let log: TestLog;
  const closers: (() => Promise<void>)[] = [];
  before(async () => {
    broker = await startKafkaBroker({ tls: kafkaTestTls(), sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], users: USERS } });
    log = await openTestLog();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await log?.close();
    await broker?.stop();
  });

  const secured = (user: keyof typeof USERS, mechanism: string, password: string = USERS[user]) => ({
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem'),
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD: password,
  });

  for (const mechanism of ['scram-sha-512', 'scram-sha-256', 'plain']) {
    it(`the relay publishes and the projector's bus consumes over TLS with SASL ${mechanism}`, async () => {
      const topic = `tls-${mechanism}.events.v1`;
      const authentications = broker.requests(36);
      const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: clientOptions(secured('relay', mechanism)) });
      await relay.start();
      closers.push(() => relay.stop());
      const stored = await appendEvents(log.store, 3, 4);
      await relay.waitFor();

      const bus = new KafkaBus({ brokers: broker.brokers, topic, kafka: clientOptions(secured('projector', mechanism)), onInvalidMessage: (err) => expect.fail(String(err)) });
      closers.push(() => bus.close());
      const got = new Set<string>();
      await bus.consume(`projector-${mechanism}`, async (events: RecordedEvent[]) => void events.forEach((e) => got.add(e.id)));
      await eventually(() => stored.every((e) => got.has(e.id)), `the projector's bus to receive the ${stored.length} events the relay published (got ${got.size})`);
      expect(broker.requests(36), 'SaslAuthenticate requests').to.be.greaterThan(authentications);
      expect(kafkaLines.length, 'kafkajs log lines').to.be.greaterThan(0);
      expect(kafkaLines.filter((l) => l.includes(USERS.relay) || l.includes(USERS.projector)), 'kafkajs lines naming a password').to.deep.equal([]);
    });
  }

  it('a wrong password: the relay and the bus fail DEPENDENCY_UNAVAILABLE naming KAFKA_SASL_*, not a stack of kafkajs internals', async () => {
    const options = clientOptions(secured('relay', 'scram-sha-256', 'not-the-password'), true);
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'wrong.events.v1', registry: new Registry(), kafka: options });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the brokers at 127\.0\.0\.1:\d+ refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
    expect(err.message).not.to.contain('not-the-password');
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.to.contain('not-the-password');
    expect(kafkaLines.filter((l) => l.includes('not-the-password')), 'kafkajs lines naming the password').to.deep.equal([]);

    const bus = new KafkaBus({ brokers: broker.brokers, topic: 'wrong.events.v1', kafka: options, onInvalidMessage: () => undefined });
    closers.push(() => bus.close());
    const busErr = await failure(bus.consume('g-wrong', async () => undefined));
    expect(busErr.code, busErr.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(busErr.message).to.match(/refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
  });

  // The broker's own refusal (Kafka's text), not kafkajs's: a test broker that let any password in
  // would still fail SCRAM here at the client (the server signature), and PLAIN not at all.
  for (const [mechanism, user, password] of [
    ['plain', 'relay', 'not-the-password'],
    ['scram-sha-256', 'relay', 'not-the-password'],
    ['scram-sha-512', 'relay', 'not-the-password'],
    ['scram-sha-256', 'nobody', USERS.relay],
    ['plain', 'nobody', USERS.relay],
  ] as const) {
    it(`the brokers refuse ${user === 'nobody' ? 'an unknown user' : 'a wrong password'} with SASL ${mechanism}: their refusal is in the error`, async () => {
      const env = { ...secured('relay', mechanism, password), KAFKA_SASL_USERNAME: user };
      const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'refused.events.v1', registry: new Registry(), kafka: clientOptions(env, true) });
      closers.push(() => relay.stop());
      const err = await failure(relay.start());
      expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err.message).to.match(/refused this client's SASL authentication: .*invalid credentials with SASL mechanism (PLAIN|SCRAM-SHA-(256|512)); check KAFKA_SASL_MECHANISM/);
    });
  }

  it("the brokers' certificate is checked for the host name in KAFKA_BROKERS: one for 127.0.0.1 is refused at 127.0.0.2, its CA trusted", async () => {
    const elsewhere = await startKafkaBroker({ host: '127.0.0.2', tls: kafkaTestTls() });
    closers.push(() => elsewhere.stop());
    const relay = new Relay(log.store, log.checkpoints, { brokers: elsewhere.brokers, topic: 'host.events.v1', registry: new Registry(), kafka: clientOptions({ KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem') }, true) });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: TLS connection to 127\.0\.0\.2:\d+ failed: .*(IP: 127\.0\.0\.2 is not in the cert's list|altname).*; check KAFKA_SSL, KAFKA_SSL_CA_FILE/i);
  });

  it('SASL set against brokers that do not take it (a listener without SASL, a mechanism they do not enable): the error names KAFKA_SASL_*', async () => {
    const plain = await startKafkaBroker();
    closers.push(() => plain.stop());
    const relay = new Relay(log.store, log.checkpoints, { brokers: plain.brokers, topic: 'nosasl.events.v1', registry: new Registry(), kafka: clientOptions({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'relay', KAFKA_SASL_PASSWORD: 'x' }, true) });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);

    const only512 = await startKafkaBroker({ sasl: { mechanisms: ['SCRAM-SHA-512'], users: USERS } });
    closers.push(() => only512.stop());
    const other = new Relay(log.store, log.checkpoints, { brokers: only512.brokers, topic: 'only512.events.v1', registry: new Registry(), kafka: clientOptions({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'relay', KAFKA_SASL_PASSWORD: USERS.relay }, true) });
    closers.push(() => other.stop());
    const refused = await failure(other.start());
    expect(refused.message).to.match(/refused this client's SASL authentication: The broker does not support the requested SASL mechanism; check KAFKA_SASL_MECHANISM/);
  });

  it('settings that do not match the brokers\' listener say which to set: none against TLS (KAFKA_SSL), none against SASL (KAFKA_SASL_*), TLS without SASL against SASL over TLS, TLS against a listener in clear', async () => {
    const saslOnly = await startKafkaBroker({ sasl: { mechanisms: ['SCRAM-SHA-256'], users: USERS } });
    closers.push(() => saslOnly.stop());
    const plain = await startKafkaBroker();
    closers.push(() => plain.stop());
    const cases: [KafkaBroker, Record<string, string>, RegExp][] = [
      [broker, {}, /^kafka: the brokers at 127\.0\.0\.1:\d+ closed the connection \(Closed connection\): a listener that takes TLS or SASL does so to a client that speaks neither, as does a broker going down; if theirs takes it, set KAFKA_SSL=on \(or KAFKA_SSL_CA_FILE\) for TLS, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD for SASL$/],
      [saslOnly, {}, /^kafka: the brokers at 127\.0\.0\.1:\d+ closed the connection \(Closed connection\): .*; if theirs takes it, set KAFKA_SSL=on .* for TLS, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD for SASL$/],
      // TLS set, SASL not, against a SASL listener over TLS: only SASL is named.
      [broker, { KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem') }, /closed the connection \(Closed connection\): a listener that takes SASL does so to a client that does not authenticate, as does a broker going down; if theirs takes it, set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD for SASL$/],
      [plain, { KAFKA_SSL: 'on' }, /^kafka: TLS connection to 127\.0\.0\.1:\d+ failed: .*; check KAFKA_SSL, KAFKA_SSL_CA_FILE/],
    ];
    for (const [b, env, expected] of cases) {
      const relay = new Relay(log.store, log.checkpoints, { brokers: b.brokers, topic: 'mismatch.events.v1', registry: new Registry(), kafka: clientOptions(env, true) });
      closers.push(() => relay.stop());
      const err = await failure(relay.start());
      expect(err.message, `${JSON.stringify(env)} ${err.stack}`).to.match(expected);
      const bus = new KafkaBus({ brokers: b.brokers, topic: 'mismatch.events.v1', kafka: clientOptions(env, true), onInvalidMessage: () => undefined });
      closers.push(() => bus.close());
      const busErr = await failure(bus.consume('g-mismatch', async () => undefined));
      expect(busErr.message, JSON.stringify(env)).to.match(expected);
    }
  });

  for (const [name, env] of [
    ['a CA that did not sign the brokers\' certificate (KAFKA_SSL_CA_FILE)', { KAFKA_SSL_CA_FILE: kafkaTlsFile('other-ca.pem') }],
    ['only the system CAs (KAFKA_SSL=on)', { KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: '' }],
  ] as const) {
    it(`the brokers' certificate checked against ${name}: the relay fails naming KAFKA_SSL and KAFKA_SSL_CA_FILE`, async () => {
      const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'ca.events.v1', registry: new Registry(), kafka: clientOptions({ ...secured('relay', 'scram-sha-256'), ...env }, true) });
      closers.push(() => relay.stop());
      const err = await failure(relay.start());
      expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err.message).to.match(/^kafka: TLS connection to 127\.0\.0\.1:\d+ failed: .*(self[- ]signed|unable to (get|verify)).*; check KAFKA_SSL, KAFKA_SSL_CA_FILE/i);
    });
  }

  // The trust store is process-wide (NODE_EXTRA_CA_CERTS is read at start): a process of its own.
  it("KAFKA_SSL_CA_FILE replaces the system's CAs (a CA added with NODE_EXTRA_CA_CERTS is not trusted with it); KAFKA_SSL=on uses them, NODE_EXTRA_CA_CERTS included", async () => {
    const connect = (env: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const script = `
          const { Kafka, logLevel } = require('kafkajs');
          const { kafkaConnectError } = require('./src/bus/kafka/connection-security');
          const { kafkaConnectionSecurity } = require('./src/bus/kafka/connection-security');
          const { loadConfig } = require('./src/config');
          const kafka = { brokers: process.env.KAFKA_BROKERS.split(','), ...kafkaConnectionSecurity(loadConfig()) };
          const admin = new Kafka({ ...kafka, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
          admin.connect().then(() => admin.describeCluster()).then(() => 'connected', (e) => (kafkaConnectError(e, kafka) ?? e).message)
            .then((said) => { console.log(said); return admin.disconnect(); });`;
        execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..', '..'), env: { PATH: process.env.PATH, KAFKA_BROKERS: broker.brokers.join(','), ...env } }, (err, stdout, stderr) =>
          resolve(err ? `exit ${err.code}: ${stderr}` : stdout.trim()),
        );
      });
    const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'relay', KAFKA_SASL_PASSWORD: USERS.relay };
    expect(await connect({ ...sasl, KAFKA_SSL: 'on', NODE_EXTRA_CA_CERTS: kafkaTlsFile('ca.pem') })).to.equal('connected');
    expect(await connect({ ...sasl, KAFKA_SSL_CA_FILE: kafkaTlsFile('other-ca.pem'), NODE_EXTRA_CA_CERTS: kafkaTlsFile('ca.pem') })).to.match(/^kafka: TLS connection to .* failed: .*; check KAFKA_SSL, KAFKA_SSL_CA_FILE/);
  });

  it('mutual TLS: a client certificate the brokers\' CA signed is let in (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE), none is refused naming those settings', async () => {
    const mtls = await startKafkaBroker({ tls: kafkaTestTls(true) });
    closers.push(() => mtls.stop());
    const env = { KAFKA_BROKERS: mtls.brokers.join(','), KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem') };
    const withCert = new Relay(log.store, log.checkpoints, {
      brokers: mtls.brokers,
      topic: 'mtls.events.v1',
      registry: new Registry(),
      kafka: clientOptions({ ...env, KAFKA_SSL_CERT_FILE: kafkaTlsFile('client.pem'), KAFKA_SSL_KEY_FILE: kafkaTlsFile('client-key.pem') }),
    });
    closers.push(() => withCert.stop());
    await appendEvents(log.store, 1, 2);
    await withCert.start();
    await withCert.waitFor();
    expect(mtls.highWatermarks('mtls.events.v1').reduce((a, b) => a + b, 0)).to.be.greaterThan(0);

    const without = new Relay(log.store, log.checkpoints, { brokers: mtls.brokers, topic: 'mtls2.events.v1', registry: new Registry(), kafka: clientOptions(env, true) });
    closers.push(() => without.stop());
    const err = await failure(without.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: TLS connection to 127\.0\.0\.1:\d+ failed: tlsv13 alert certificate required: the brokers refused this client's certificate; check KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE/);
  });
});
