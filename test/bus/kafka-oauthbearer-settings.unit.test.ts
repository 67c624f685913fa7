import { expect } from 'chai';
import { kafkaSecurityWarning } from '../../src/core/kafka-security-settings';
import { kafkaConnectionSecurity } from '../../src/bus/kafka/connection-security';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/core/errors';

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

const oauth = {
  KAFKA_SSL: 'on',
  KAFKA_SASL_MECHANISM: 'oauthbearer',
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://idp.example.com/oauth2/token',
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'gateway',
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 's3cret-value',
};

describe('Kafka SASL OAUTHBEARER settings (KAFKA_SASL_OAUTHBEARER_*)', () => {
  it('KAFKA_SASL_MECHANISM=oauthbearer (OAUTHBEARER too) with endpoint, client id and secret: kafkajs oauthbearer options with a token provider', () => {
    for (const mechanism of ['oauthbearer', 'OAUTHBEARER']) {
      const sasl = kafkaConnectionSecurity(loadConfig({ ...oauth, KAFKA_SASL_MECHANISM: mechanism }, '/x')).sasl as { mechanism: string; oauthBearerProvider?: unknown };
      expect(sasl.mechanism).to.equal('oauthbearer');
      expect(sasl.oauthBearerProvider).to.be.a('function');
      // The secret is inside the provider, not in options a log line could print.
      expect(JSON.stringify(sasl)).not.to.contain('s3cret-value');
    }
  });

  it('an http:// endpoint on this host (localhost, 127.0.0.1, [::1]) is taken; scope and extensions are optional', () => {
    for (const host of ['localhost:8080', '127.0.0.1:9', '[::1]:9']) {
      expect(() => loadConfig({ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: `http://${host}/token` }, '/x')).not.to.throw();
    }
    const c = loadConfig({ ...oauth, KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka openid', KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-abc12,identityPoolId=pool-Xy9' }, '/x');
    expect(kafkaConnectionSecurity(c).sasl).to.include({ mechanism: 'oauthbearer' });
  });

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: '' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /KAFKA_SASL_MECHANISM=oauthbearer needs KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL too/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_CLIENT_ID: '' }, 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID', /needs KAFKA_SASL_OAUTHBEARER_CLIENT_ID too/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: '' }, 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET', /needs KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET too/],
    [{ ...oauth, KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_USERNAME', /KAFKA_SASL_USERNAME is set but KAFKA_SASL_MECHANISM=oauthbearer.*client id and secret.*KAFKA_SASL_OAUTHBEARER_CLIENT_ID/],
    [{ ...oauth, KAFKA_SASL_PASSWORD: 'pw-123' }, 'KAFKA_SASL_PASSWORD', /KAFKA_SASL_PASSWORD is set but KAFKA_SASL_MECHANISM=oauthbearer/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'http://idp.example.com/oauth2/token' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL="http:\/\/idp\.example\.com\/oauth2\/token": expected an https:\/\/ URL.*client secret.*in clear/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'idp.example.com/token' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /expected an https:\/\/ URL/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://user:pw-in-url@idp.example.com/token' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /without credentials in it.*KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/],
    // A password with an unencoded / does not parse: masked all the same (up to the last @).
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://user:pw-in-url/x@idp.example.com/token' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL="https:\/\/\*\*\*@idp\.example\.com\/token": expected an https:\/\/ URL/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'http://idp.example.com/token?api_key=pw-123' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', /expected an https:\/\/ URL/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster' }, 'KAFKA_SASL_OAUTHBEARER_EXTENSIONS', /KAFKA_SASL_OAUTHBEARER_EXTENSIONS: expected key=value pairs separated by commas/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'auth=x' }, 'KAFKA_SASL_OAUTHBEARER_EXTENSIONS', /"auth" is the token's own key/],
    [{ ...oauth, KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logical_cluster=x' }, 'KAFKA_SASL_OAUTHBEARER_EXTENSIONS', /a key of letters only/],
    // OAUTHBEARER settings with another mechanism, or with none: they would be ignored.
    [{ KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'gateway' }, 'KAFKA_SASL_MECHANISM', /KAFKA_SASL_OAUTHBEARER_CLIENT_ID is set but KAFKA_SASL_MECHANISM is not oauthbearer/],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://idp/t' }, 'KAFKA_SASL_MECHANISM', /KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL is set but KAFKA_SASL_MECHANISM is not oauthbearer \(it is scram-sha-512\)/],
  ];
  for (const [env, variable, expected] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
      const e = refusal(env);
      expect(e.code).to.equal('CONFIG_INVALID');
      expect(e.message).to.match(expected);
      expect(e.details).to.include({ variable });
      expect(e.message, 'the secret shown').not.to.contain('s3cret-value');
      expect(e.message, 'a password shown').not.to.match(/pw-123|pw-in-url/);
    });
  }

  it('warns of OAUTHBEARER without TLS (the bearer token in clear to the brokers), not with TLS', () => {
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'oauthbearer' })).to.match(/^KAFKA_SASL_MECHANISM=oauthbearer without TLS: the token travels in clear/);
    expect(kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SSL: 'on' })).to.equal(undefined);
  });
});
