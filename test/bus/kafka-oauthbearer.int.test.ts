import { expect } from 'chai';
import { logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaBus } from '../../src/bus/kafka';
import { kafkaConnectionSecurity } from '../../src/bus/kafka/connection-security';
import { loadConfig } from '../../src/config';
import type { RecordedEvent } from '../../src/core/envelope';
import { Relay } from '../../src/relay';
import { kafkaTestTls, kafkaTlsFile, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { startTokenEndpoint, type TokenEndpoint } from '../support/oauth-token-endpoint';
import { appendEvents, eventually, openTestLog, type TestLog } from '../relay/event-log-fixture';

const SECRET = 'gateway-client-secret';
const kafkaLines: string[] = [];

/**
 * The kafkajs options main gives every client for these settings (loadConfig, then the one
 * builder, once: the clients given them share its token source); `refused`: no retries.
 */
function clientOptions(env: Record<string, string>, refused = false): Omit<KafkaConfig, 'brokers'> {
  const logCreator: logCreator = () => (entry) => void kafkaLines.push(JSON.stringify(entry));
  return { ...kafkaConnectionSecurity(loadConfig(env, '/x')), logLevel: logLevel.DEBUG, logCreator, ...(refused ? { retry: { retries: 0 } } : {}) };
}

async function failure(start: Promise<unknown>): Promise<Error & { code?: string }> {
  return start.then(
    () => expect.fail('should have been refused'),
    (e: Error & { code?: string }) => e,
  );
}

describe('Kafka SASL OAUTHBEARER (kafkajs against the test broker and a local token endpoint)', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let endpoint: TokenEndpoint;
  let log: TestLog;
  const extensionsSeen: Record<string, string>[] = [];
  const closers: (() => Promise<void>)[] = [];
  before(async () => {
    endpoint = await startTokenEndpoint({ clients: { gateway: SECRET } });
    broker = await startKafkaBroker({ tls: kafkaTestTls(), sasl: { mechanisms: ['OAUTHBEARER', 'SCRAM-SHA-512'], users: {}, verifyToken: (t) => endpoint.verify(t), extensionsSeen } });
    log = await openTestLog();
  });
  afterEach(async () => {
    endpoint.lifetimeSeconds = 3600;
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await log?.close();
    await broker?.stop();
    await endpoint?.stop();
  });

  const settings = (o: { secret?: string; url?: string } = {}) => ({
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem'),
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: o.url ?? endpoint.url,
    KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'gateway',
    KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: o.secret ?? SECRET,
    KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
    KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-test1,identityPoolId=pool-Ab1',
  });

  it("the relay publishes and the projector's consumer group consumes over TLS with OAUTHBEARER: one token for every connection, the extensions sent; no secret or token logged", async () => {
    const topic = 'oauth.events.v1';
    const issued = endpoint.issued.length;
    const authentications = broker.requests(36);
    const options = clientOptions(settings());
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: options });
    await relay.start();
    closers.push(() => relay.stop());
    const stored = await appendEvents(log.store, 3, 4);
    await relay.waitFor();

    const bus = new KafkaBus({ brokers: broker.brokers, topic, kafka: options, onInvalidMessage: (err) => expect.fail(String(err)) });
    closers.push(() => bus.close());
    const got = new Set<string>();
    await bus.consume('projector-oauth', async (events: RecordedEvent[]) => void events.forEach((e) => got.add(e.id)));
    await eventually(() => stored.every((e) => got.has(e.id)), `the projector's bus to receive the ${stored.length} events the relay published (got ${got.size})`);
    expect(broker.requests(36) - authentications, 'SaslAuthenticate requests (every connection of the relay and the bus)').to.be.greaterThan(2);
    expect(endpoint.issued.length - issued, 'tokens asked of the endpoint').to.equal(1);
    expect(endpoint.issued.at(-1)).to.include({ client: 'gateway', scope: 'kafka' });
    expect(extensionsSeen.at(-1)).to.deep.equal({ logicalCluster: 'lkc-test1', identityPoolId: 'pool-Ab1' });
    const token = endpoint.issued.at(-1)!.token;
    expect(kafkaLines.filter((l) => l.includes(SECRET) || l.includes(token)), 'kafkajs lines naming the secret or the token').to.deep.equal([]);
  });

  it('a token that expires: the connections made after it get a new one from the endpoint, and the relay goes on publishing', async () => {
    endpoint.lifetimeSeconds = 2;
    const topic = 'oauth-expiry.events.v1';
    const issued = endpoint.issued.length;
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), kafka: clientOptions(settings()) });
    await relay.start();
    closers.push(() => relay.stop());
    await appendEvents(log.store, 1, 2);
    await relay.waitFor();
    const first = endpoint.issued.at(-1)!.token;
    expect(endpoint.issued.length - issued).to.equal(1);
    await eventually(() => endpoint.expired(first), 'the first token to expire');
    expect(endpoint.verify(first), 'the broker takes the expired token').to.equal(undefined);
    const before = broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
    broker.dropConnections();
    await appendEvents(log.store, 1, 3);
    await relay.waitFor();
    expect(broker.highWatermarks(topic).reduce((a, b) => a + b, 0), 'records on the topic').to.equal(before + 3);
    expect(endpoint.issued.length - issued, 'tokens asked of the endpoint').to.be.greaterThan(1);
    expect(endpoint.issued.at(-1)!.token).not.to.equal(first);
  });

  it('a wrong client secret: the relay and the bus fail DEPENDENCY_UNAVAILABLE with the endpoint\'s error, naming the client settings; the secret nowhere', async () => {
    const options = clientOptions(settings({ secret: 'not-the-secret' }), true);
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'oauth-wrong.events.v1', registry: new Registry(), kafka: options });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token refused this client's credentials: 401 invalid_client: Client authentication failed; check KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.to.contain('not-the-secret');
    expect(kafkaLines.filter((l) => l.includes('not-the-secret')), 'kafkajs lines naming the secret').to.deep.equal([]);

    const bus = new KafkaBus({ brokers: broker.brokers, topic: 'oauth-wrong.events.v1', kafka: options, onInvalidMessage: () => undefined });
    closers.push(() => bus.close());
    const busErr = await failure(bus.consume('g-oauth-wrong', async () => undefined));
    expect(busErr.code, busErr.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(busErr.message).to.match(/refused this client's credentials: 401 invalid_client.*; check KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/);
  });

  it('the token endpoint down: the relay and the bus fail DEPENDENCY_UNAVAILABLE naming KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', async () => {
    const gone = await startTokenEndpoint({ clients: {} });
    await gone.stop();
    const options = clientOptions(settings({ url: gone.url }), true);
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'oauth-down.events.v1', registry: new Registry(), kafka: options });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: cannot reach the OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token \(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\): ECONNREFUSED/);
    const bus = new KafkaBus({ brokers: broker.brokers, topic: 'oauth-down.events.v1', kafka: options, onInvalidMessage: () => undefined });
    closers.push(() => bus.close());
    const busErr = await failure(bus.consume('g-oauth-down', async () => undefined));
    expect(busErr.message).to.match(/cannot reach the OAuth token endpoint .*\(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\)/);
  });

  it("the brokers refuse the token (another issuer's): DEPENDENCY_UNAVAILABLE saying the brokers closed the connection on the token, naming the OAUTHBEARER settings", async () => {
    const other = await startTokenEndpoint({ clients: { gateway: SECRET } });
    closers.push(() => other.stop());
    const options = clientOptions(settings({ url: other.url }), true);
    const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic: 'oauth-issuer.events.v1', registry: new Registry(), kafka: options });
    closers.push(() => relay.stop());
    const err = await failure(relay.start());
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the brokers at 127\.0\.0\.1:\d+ closed the connection once this client had sent its OAUTHBEARER token .*; check that the brokers take tokens of KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL's provider .*KAFKA_SASL_OAUTHBEARER_SCOPE/);
    expect(err.message).not.to.contain(other.issued.at(-1)!.token);
    const bus = new KafkaBus({ brokers: broker.brokers, topic: 'oauth-issuer.events.v1', kafka: options, onInvalidMessage: () => undefined });
    closers.push(() => bus.close());
    const busErr = await failure(bus.consume('g-oauth-issuer', async () => undefined));
    expect(busErr.message).to.match(/closed the connection once this client had sent its OAUTHBEARER token/);
  });
});
