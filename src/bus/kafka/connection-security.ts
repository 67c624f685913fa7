import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { ConfigError, UnavailableError } from '../../core/errors';

/** The settings that say how the gateway's Kafka clients connect (docs/configuration.md). */
export type KafkaSecuritySettings = {
  KAFKA_SSL?: 'on' | 'off';
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
};

/** The settings the SASL and TLS errors point at. */
export const KAFKA_SASL_SETTINGS = 'KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD';
export const KAFKA_TLS_SETTINGS = 'KAFKA_SSL, KAFKA_SSL_CA_FILE';

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

/**
 * The `ssl` and `sasl` options of every kafkajs client the gateway makes (the relay's producer and
 * admin, the bus's consumers, admin and readiness probe, the topic ensure, the lag metric, and the
 * example consumer), from the KAFKA_SSL* and KAFKA_SASL_* settings; the files they name are read
 * here. Nothing set: neither (plaintext, no authentication). A setting that does not fit throws a
 * ConfigError naming it: loadConfig calls this, so a start stops on it.
 * @example new Kafka({ brokers, ...kafkaConnectionSecurity(config) })
 */
export function kafkaConnectionSecurity(s: KafkaSecuritySettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const files = [s.KAFKA_SSL_CA_FILE, s.KAFKA_SSL_CERT_FILE, s.KAFKA_SSL_KEY_FILE].some(Boolean);
  if (s.KAFKA_SSL === 'off' && files) {
    const variable = s.KAFKA_SSL_CA_FILE ? 'KAFKA_SSL_CA_FILE' : s.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    throw new ConfigError(`Invalid configuration: ${variable} is set but KAFKA_SSL=off: a CA or client certificate is only used over TLS; unset KAFKA_SSL (the file turns TLS on) or the file`, { variable: 'KAFKA_SSL' });
  }
  if (Boolean(s.KAFKA_SSL_CERT_FILE) !== Boolean(s.KAFKA_SSL_KEY_FILE)) {
    const variable = s.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE';
    throw new ConfigError(`Invalid configuration: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate and its private key, for mutual TLS); ${variable} is not set`, { variable });
  }
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
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
  if (!mechanism && (username || password)) {
    const variable = username ? 'KAFKA_SASL_USERNAME' : 'KAFKA_SASL_PASSWORD';
    throw new ConfigError(`Invalid configuration: ${variable} is set but KAFKA_SASL_MECHANISM is not: set it to the brokers' SASL mechanism (plain, scram-sha-256 or scram-sha-512)`, { variable: 'KAFKA_SASL_MECHANISM' });
  }
  if (mechanism) {
    const missing = !username ? 'KAFKA_SASL_USERNAME' : !password ? 'KAFKA_SASL_PASSWORD' : undefined;
    if (missing) throw new ConfigError(`Invalid configuration: KAFKA_SASL_MECHANISM=${mechanism} needs ${missing} too`, { variable: missing });
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}

/**
 * What to warn of at start: SASL PLAIN without TLS sends the password as it is to the brokers, to
 * anyone on the way. (SCRAM sends a proof, not the password; the events go in clear either way.)
 * @example kafkaSecurityWarning({ KAFKA_SASL_MECHANISM: 'plain' }) // 'KAFKA_SASL_MECHANISM=plain without TLS: …'
 */
export function kafkaSecurityWarning(s: KafkaSecuritySettings): string | undefined {
  const tls = s.KAFKA_SSL === 'on' || Boolean(s.KAFKA_SSL_CA_FILE || s.KAFKA_SSL_CERT_FILE);
  if (s.KAFKA_SASL_MECHANISM === 'plain' && !tls) {
    return 'KAFKA_SASL_MECHANISM=plain without TLS: the password travels in clear to the brokers, readable by anyone on the network path; set KAFKA_SSL=on (or KAFKA_SSL_CA_FILE), or use scram-sha-256/512';
  }
  return undefined;
}

/** Node's codes of a certificate not verified (UNABLE_TO_…, SELF_SIGNED_…, CERT_…, ERR_TLS_…) and of a failed handshake (EPROTO, ERR_SSL_…). */
const TLS_CODE = /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_|ERR_SSL_|EPROTO$)/;

/** The errors of `err`'s cause chain, kafkajs's (`originalError`, `cause`) and Node's. */
function chain(err: unknown): { name?: string; type?: string; code?: string; message?: string }[] {
  const out: { name?: string; type?: string; code?: string; message?: string }[] = [];
  for (let e = err as Record<string, unknown> | undefined; e && typeof e === 'object' && out.length < 10; e = (e.originalError ?? e.cause) as typeof e) out.push(e as (typeof out)[number]);
  return out;
}

/**
 * A kafkajs connect failure as an error that names what to check: the brokers refusing the
 * credentials (KAFKA_SASL_*), a TLS handshake that failed (KAFKA_SSL, KAFKA_SSL_CA_FILE; the
 * client certificate, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE), or the brokers closing the
 * connection at once on a client without TLS or SASL (a TLS or SASL listener does so), without
 * kafkajs's stack. `kafka` is the client's configuration (its brokers, and whether it has `ssl`
 * and `sasl`). Undefined for another error (the caller says it its own way).
 * @example throw kafkaConnectError(err, this.kafkaConfig) ?? err
 */
export function kafkaConnectError(err: unknown, kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>): UnavailableError | undefined {
  const errors = chain(err);
  const where = Array.isArray(kafka.brokers) ? kafka.brokers.join(',') : 'the brokers';
  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || /SASL/.test(e.type ?? ''));
  if (sasl) {
    return new UnavailableError('kafka', `the brokers at ${where} refused this client's SASL authentication: ${sasl.message}; check ${KAFKA_SASL_SETTINGS} (the mechanism must be one the brokers enable, the user must exist on them with that password)`, err);
  }
  const tls = errors.find((e) => (e.code && TLS_CODE.test(e.code)) || /\b(SSL|TLS)\b|certificate/i.test(e.message ?? ''));
  if (tls) {
    // OpenSSL's text (`80…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/…`): its reason.
    const said = (tls.message ?? '').match(/SSL routines:[^:]*:([^:]+)/)?.[1] ?? (tls.message ?? '').trim();
    // The brokers' alert about our certificate: none sent, or one they do not trust.
    if (/alert (certificate required|bad certificate|unknown ca|certificate unknown)/i.test(said)) {
      return new UnavailableError('kafka', `TLS connection to ${where} failed: ${said}: the brokers refused this client's certificate; check KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE (a certificate the brokers' ssl.truststore CA signed, for mutual TLS)`, err);
    }
    return new UnavailableError('kafka', `TLS connection to ${where} failed: ${said}; check ${KAFKA_TLS_SETTINGS} (the brokers' certificate must be signed by a CA KAFKA_SSL_CA_FILE holds, or without it one the system trusts, for the host name in KAFKA_BROKERS; a broker without TLS on that port answers no handshake)`, err);
  }
  // A TLS listener closes a connection in clear at its first bytes, a SASL one at its first request
  // before authentication: what the client lacks is the likely cause, a broker going down the other.
  const closed = errors.find((e) => e.name === 'KafkaJSConnectionClosedError');
  const lacking = [!kafka.ssl && `KAFKA_SSL=on (or KAFKA_SSL_CA_FILE) for TLS`, !kafka.sasl && `${KAFKA_SASL_SETTINGS} for SASL`].filter(Boolean);
  if (closed && lacking.length) {
    const neither = lacking.length === 2 ? 'TLS or SASL does so to a client that speaks neither' : kafka.ssl ? 'SASL does so to a client that does not authenticate' : 'TLS does so to a client in clear';
    return new UnavailableError('kafka', `the brokers at ${where} closed the connection (${closed.message}): a listener that takes ${neither}, as does a broker going down; if theirs takes it, set ${lacking.join(', ')}`, err);
  }
  return undefined;
}
