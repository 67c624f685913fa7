import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig } from 'kafkajs';
import { ConfigError } from './errors';
import { kafkaOAuthBearerParameters, type KafkaOAuthBearerParameters, type KafkaOAuthBearerSettings } from './kafka-oauthbearer-options';

/** The settings that say how the gateway's Kafka clients connect (docs/configuration.md): TLS, the SASL mechanism, and its credentials (user and password, or OAUTHBEARER's). */
export type KafkaSecuritySettings = KafkaOAuthBearerSettings & {
  KAFKA_SSL?: 'on' | 'off';
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';
};

/** The settings the SASL and TLS errors point at. */
export const KAFKA_SASL_SETTINGS = 'KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD';
export const KAFKA_TLS_SETTINGS = 'KAFKA_SSL, KAFKA_SSL_CA_FILE';
export const KAFKA_OAUTHBEARER_SETTINGS = 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET, KAFKA_SASL_OAUTHBEARER_SCOPE';

const OAUTHBEARER_VARIABLES = ['KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID', 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET', 'KAFKA_SASL_OAUTHBEARER_SCOPE', 'KAFKA_SASL_OAUTHBEARER_EXTENSIONS'] as const;

/** A PEM file a setting names, its text; a ConfigError naming the setting when it cannot be read or holds no such block. */
function readPem(variable: string, path: string, check: (text: string) => void, expected: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${variable}=${JSON.stringify(path)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { variable });
  }
  try {
    check(text);
  } catch {
    throw new ConfigError(`Invalid configuration: ${variable}=${JSON.stringify(path)}: expected ${expected}`, { variable });
  }
  return text;
}

const checkCertificates = (text: string) => {
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
  new X509Certificate(text);
};

/** How the gateway's Kafka clients authenticate, checked: SASL PLAIN/SCRAM with a user, or OAUTHBEARER with a client-credentials grant. */
export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; oauthbearer: KafkaOAuthBearerParameters };

/** The KAFKA_SSL* and KAFKA_SASL_* settings checked: kafkajs's `ssl` option as it is, and how to authenticate. */
export type KafkaSecurity = { ssl?: KafkaConfig['ssl']; sasl?: KafkaSasl };

/**
 * The KAFKA_SSL* and KAFKA_SASL_* settings checked, with the files they name read: TLS as
 * kafkajs's `ssl` option, and SASL's mechanism and credentials (OAUTHBEARER: the grant's
 * parameters; its token source is the bus's, kafkaConnectionSecurity in
 * src/bus/kafka/connection-security.ts, which makes every Kafka client's options from this). Nothing
 * set: neither (plaintext, no authentication). A setting that does not fit throws a ConfigError
 * naming it: loadConfig calls this, so a start stops on it. Nothing here asks the network.
 * @example kafkaSecuritySettings({ KAFKA_SSL: 'on' }) // { ssl: true }
 */
export function kafkaSecuritySettings(s: KafkaSecuritySettings): KafkaSecurity {
  const files = [s.KAFKA_SSL_CA_FILE, s.KAFKA_SSL_CERT_FILE, s.KAFKA_SSL_KEY_FILE].some(Boolean);
  if (s.KAFKA_SSL === 'off' && files) {
    const variable = s.KAFKA_SSL_CA_FILE ? 'KAFKA_SSL_CA_FILE' : s.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    throw new ConfigError(`Invalid configuration: ${variable} is set but KAFKA_SSL=off: a CA or client certificate is only used over TLS; unset KAFKA_SSL (the file turns TLS on) or the file`, { variable: 'KAFKA_SSL' });
  }
  if (Boolean(s.KAFKA_SSL_CERT_FILE) !== Boolean(s.KAFKA_SSL_KEY_FILE)) {
    const variable = s.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE';
    throw new ConfigError(`Invalid configuration: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate and its private key, for mutual TLS); ${variable} is not set`, { variable });
  }
  const out: KafkaSecurity = {};
  if (s.KAFKA_SSL === 'on' || files) {
    const tls: ConnectionOptions = {};
    if (s.KAFKA_SSL_CA_FILE) tls.ca = readPem('KAFKA_SSL_CA_FILE', s.KAFKA_SSL_CA_FILE, checkCertificates, 'a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)');
    if (s.KAFKA_SSL_CERT_FILE && s.KAFKA_SSL_KEY_FILE) {
      const cert = readPem('KAFKA_SSL_CERT_FILE', s.KAFKA_SSL_CERT_FILE, checkCertificates, 'a PEM file of the client certificate (-----BEGIN CERTIFICATE-----)');
      const key = readPem('KAFKA_SSL_KEY_FILE', s.KAFKA_SSL_KEY_FILE, (text) => void createPrivateKey(text), 'a PEM file of the client certificate\'s private key, not encrypted (-----BEGIN PRIVATE KEY-----)');
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
        throw new ConfigError(`Invalid configuration: KAFKA_SSL_KEY_FILE=${JSON.stringify(s.KAFKA_SSL_KEY_FILE)}: expected the private key of the certificate in KAFKA_SSL_CERT_FILE, and it is another`, { variable: 'KAFKA_SSL_KEY_FILE' });
      }
      Object.assign(tls, { cert, key });
    }
    out.ssl = Object.keys(tls).length ? tls : true;
  }
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = s;
  if (mechanism === 'oauthbearer') {
    out.sasl = { mechanism, oauthbearer: kafkaOAuthBearerParameters(s) };
    return out;
  }
  const stray = OAUTHBEARER_VARIABLES.find((v) => s[v]);
  if (stray) {
    throw new ConfigError(`Invalid configuration: ${stray} is set but KAFKA_SASL_MECHANISM is not oauthbearer${mechanism ? ` (it is ${mechanism})` : ''}: the KAFKA_SASL_OAUTHBEARER_* settings are only used with KAFKA_SASL_MECHANISM=oauthbearer; set it, or unset them`, { variable: 'KAFKA_SASL_MECHANISM' });
  }
  if (!mechanism && (username || password)) {
    const variable = username ? 'KAFKA_SASL_USERNAME' : 'KAFKA_SASL_PASSWORD';
    throw new ConfigError(`Invalid configuration: ${variable} is set but KAFKA_SASL_MECHANISM is not: set it to the brokers' SASL mechanism (plain, scram-sha-256 or scram-sha-512)`, { variable: 'KAFKA_SASL_MECHANISM' });
  }
  if (mechanism) {
    const missing = !username ? 'KAFKA_SASL_USERNAME' : !password ? 'KAFKA_SASL_PASSWORD' : undefined;
    if (missing) throw new ConfigError(`Invalid configuration: KAFKA_SASL_MECHANISM=${mechanism} needs ${missing} too`, { variable: missing });
    out.sasl = { mechanism, username: username!, password: password! };
  }
  return out;
}

/**
 * What to warn of at start: SASL PLAIN without TLS sends the password as it is to the brokers, to
 * anyone on the way; OAUTHBEARER so sends its bearer token. (SCRAM sends a proof, not the password; the events go in clear either way.)
 * @example kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'plain' }) // 'KAFKA_SASL_MECHANISM=plain without TLS: …'
 */
export function kafkaSecurityWarning(s: KafkaSecuritySettings): string | undefined {
  const tls = s.KAFKA_SSL === 'on' || Boolean(s.KAFKA_SSL_CA_FILE || s.KAFKA_SSL_CERT_FILE);
  if (s.KAFKA_SASL_MECHANISM === 'plain' && !tls) {
    return 'KAFKA_SASL_MECHANISM=plain without TLS: the password travels in clear to the brokers, readable by anyone on the network path; set KAFKA_SSL=on (or KAFKA_SSL_CA_FILE), or use scram-sha-256/512';
  }
  if (s.KAFKA_SASL_MECHANISM === 'oauthbearer' && !tls) {
    return 'KAFKA_SASL_MECHANISM=oauthbearer without TLS: the token travels in clear to the brokers, and whoever reads it on the network path can use it until it expires; set KAFKA_SSL=on (or KAFKA_SSL_CA_FILE)';
  }
  return undefined;
}
