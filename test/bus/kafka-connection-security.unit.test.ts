import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaConnectError } from '../../src/bus/kafka/connection-security';
import { kafkaSecurityWarning } from '../../src/core/kafka-security-settings';
import { kafkaConnectionSecurity } from '../../src/bus/kafka/connection-security';
import { loadConfig } from '../../src/config';
import { ConfigError, UnavailableError } from '../../src/core/errors';
import { OAuthTokenError } from '../../src/bus/kafka/oauth-client-credentials';

const tls = join(__dirname, '..', 'fixtures', 'kafka-tls');
const file = (name: string) => join(tls, name);

/** The ConfigError loadConfig refuses `env` with (fails the test when it takes it). */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/x');
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return e as ConfigError;
  }
  return expect.fail(`should refuse ${JSON.stringify(env)}`);
}

describe('Kafka connection security settings (KAFKA_SSL*, KAFKA_SASL_*)', () => {
  it('nothing set: plaintext without authentication, as before', () => {
    expect(kafkaConnectionSecurity(loadConfig({ KAFKA_BROKERS: 'k:9092' }, '/x'))).to.deep.equal({});
  });

  it('KAFKA_SSL=on: TLS checked against the system CAs; a CA file: TLS with that CA; cert and key: mutual TLS', () => {
    expect(kafkaConnectionSecurity(loadConfig({ KAFKA_SSL: 'on' }, '/x'))).to.deep.equal({ ssl: true });
    expect(kafkaConnectionSecurity(loadConfig({ KAFKA_SSL_CA_FILE: file('ca.pem') }, '/x'))).to.deep.equal({ ssl: { ca: readFileSync(file('ca.pem'), 'utf8') } });
    const mtls = kafkaConnectionSecurity(loadConfig({ KAFKA_SSL_CA_FILE: file('ca.pem'), KAFKA_SSL_CERT_FILE: file('client.pem'), KAFKA_SSL_KEY_FILE: file('client-key.pem') }, '/x'));
    expect(mtls.ssl).to.include.keys('ca', 'cert', 'key');
  });

  it('KAFKA_SASL_MECHANISM with user and password: kafkajs sasl options', () => {
    const c = loadConfig({ KAFKA_SSL: 'on', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'relay', KAFKA_SASL_PASSWORD: 'pw' }, '/x');
    expect(kafkaConnectionSecurity(c)).to.deep.equal({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'relay', password: 'pw' } });
  });

  it("KAFKA_SASL_MECHANISM as Kafka's own properties write it (SCRAM-SHA-512, PLAIN) is taken", () => {
    const scram = loadConfig({ KAFKA_SSL: 'on', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'relay', KAFKA_SASL_PASSWORD: 'pw' }, '/x');
    expect(kafkaConnectionSecurity(scram).sasl).to.include({ mechanism: 'scram-sha-512' });
    const plain = loadConfig({ KAFKA_SSL: 'on', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'key', KAFKA_SASL_PASSWORD: 'secret' }, '/x');
    expect(kafkaConnectionSecurity(plain).sasl).to.include({ mechanism: 'plain' });
  });

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM', /KAFKA_SASL_MECHANISM="gssapi": expected one of "plain"\|"scram-sha-256"\|"scram-sha-512"/],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-256' }, 'KAFKA_SASL_USERNAME', /KAFKA_SASL_MECHANISM=scram-sha-256 needs KAFKA_SASL_USERNAME too/],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_PASSWORD', /needs KAFKA_SASL_PASSWORD too/],
    [{ KAFKA_SASL_PASSWORD: 'pw' }, 'KAFKA_SASL_MECHANISM', /KAFKA_SASL_PASSWORD is set but KAFKA_SASL_MECHANISM is not/],
    [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'pw' }, 'KAFKA_SASL_MECHANISM', /KAFKA_SASL_USERNAME is set but KAFKA_SASL_MECHANISM is not/],
    [{ KAFKA_SSL: 'yes' }, 'KAFKA_SSL', /KAFKA_SSL="yes": expected one of "on"\|"off"/],
    [{ KAFKA_SSL_CA_FILE: file('missing.pem') }, 'KAFKA_SSL_CA_FILE', /KAFKA_SSL_CA_FILE=".*missing\.pem": cannot be read \(ENOENT\)/],
    [{ KAFKA_SSL_CA_FILE: file('README.md') }, 'KAFKA_SSL_CA_FILE', /KAFKA_SSL_CA_FILE=".*README\.md": expected a PEM file of CA certificates/],
    // A key where the CA goes: a PEM file, but no certificate.
    [{ KAFKA_SSL_CA_FILE: file('client-key.pem') }, 'KAFKA_SSL_CA_FILE', /expected a PEM file of CA certificates/],
    [{ KAFKA_SSL: 'off', KAFKA_SSL_CA_FILE: file('ca.pem') }, 'KAFKA_SSL', /KAFKA_SSL_CA_FILE is set but KAFKA_SSL=off/],
    [{ KAFKA_SSL_CERT_FILE: file('client.pem') }, 'KAFKA_SSL_KEY_FILE', /KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together/],
    [{ KAFKA_SSL_CERT_FILE: file('client.pem'), KAFKA_SSL_KEY_FILE: file('ca.pem') }, 'KAFKA_SSL_KEY_FILE', /KAFKA_SSL_KEY_FILE=.*expected a PEM file of the client certificate's private key/],
    [{ KAFKA_SSL_CERT_FILE: file('client.pem'), KAFKA_SSL_KEY_FILE: file('server-key.pem') }, 'KAFKA_SSL_KEY_FILE', /the private key of the certificate in KAFKA_SSL_CERT_FILE, and it is another/],
  ];
  for (const [env, variable, expected] of bad) {
    it(`refuses ${JSON.stringify(env).replaceAll(tls, '…')} naming ${variable}`, () => {
      const e = refusal(env);
      expect(e.code).to.equal('CONFIG_INVALID');
      expect(e.message).to.match(expected);
      expect(e.details).to.include({ variable });
    });
  }

  it('never shows the password: not in a refusal, not in the options printed', () => {
    const e = refusal({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'hunter2-secret' });
    expect(e.message).not.to.contain('hunter2');
    // Not an enum value echoed: a password-like value of a mechanism setting is not this case; the password itself is hidden when refused.
    expect(refusal({ KAFKA_SASL_PASSWORD: 'hunter2-secret' }).message).not.to.contain('hunter2');
  });

  it('warns of SASL PLAIN without TLS (the password in clear), not with TLS nor for SCRAM', () => {
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).to.match(/^KAFKA_SASL_MECHANISM=plain without TLS: the password travels in clear/);
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'on' })).to.equal(undefined);
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL_CA_FILE: 'ca.pem' })).to.equal(undefined);
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).to.equal(undefined);
  });

  it('a kafkajs SASL failure or TLS failure becomes an error naming the settings to check', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA256 authentication failed: Authentication failed'), { name: 'KafkaJSSASLAuthenticationError' });
    const wrapped = Object.assign(new Error('Connection error'), { name: 'KafkaJSNonRetriableError', originalError: sasl });
    const e = kafkaConnectError(wrapped, { brokers: ['k:9093'], ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e!.message).to.match(/^kafka: the brokers at k:9093 refused this client's SASL authentication: SASL SCRAM SHA256 authentication failed: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
    const cert = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const t = kafkaConnectError(Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { name: 'KafkaJSConnectionError', originalError: cert }), { brokers: ['k:9093'], ssl: true });
    expect(t!.message).to.match(/^kafka: TLS connection to k:9093 failed: .*self-signed certificate in certificate chain; check KAFKA_SSL, KAFKA_SSL_CA_FILE/);
    expect(kafkaConnectError(new Error('UNKNOWN_TOPIC_OR_PARTITION'), { brokers: ['k:9093'] })).to.equal(undefined);
  });

  it('OAUTHBEARER: the token source\'s error comes out as it is from under kafkajs\'s wrappers; a closed connection names the OAUTHBEARER settings, and KAFKA_SSL without TLS', () => {
    const sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 't' }) } as const;
    const own = new OAuthTokenError('the OAuth token endpoint https://idp/t refused this client\'s credentials: 401 invalid_client; check …', false);
    const retried = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: Object.assign(new Error('x'), { name: 'KafkaJSNonRetriableError', originalError: own }) });
    expect(kafkaConnectError(retried, { brokers: ['k:9093'], ssl: true, sasl })).to.equal(own);
    const closed = Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' });
    expect(kafkaConnectError(closed, { brokers: ['k:9093'], ssl: true, sasl })!.message).to.match(/^kafka: the brokers at k:9093 closed the connection once this client had sent its OAUTHBEARER token \(Closed connection\): .*KAFKA_SASL_OAUTHBEARER_EXTENSIONS \(Confluent Cloud: logicalCluster, identityPoolId\)$/);
    expect(kafkaConnectError(closed, { brokers: ['k:9093'], sasl })!.message).to.match(/OAUTHBEARER token .*; a listener that takes TLS closes a client in clear too: if theirs does, set KAFKA_SSL=on \(or KAFKA_SSL_CA_FILE\)$/);
    const unsupported = Object.assign(new Error('SASL OAUTHBEARER mechanism is not supported by the server'), { name: 'KafkaJSSASLAuthenticationError' });
    expect(kafkaConnectError(unsupported, { brokers: ['k:9093'], ssl: true, sasl })!.message).to.match(/not supported by the server; check KAFKA_SASL_MECHANISM, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, .* \(the brokers must enable OAUTHBEARER/);
  });
});
