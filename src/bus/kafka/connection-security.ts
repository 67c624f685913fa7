import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { UnavailableError } from '../../core/errors';
import { KAFKA_OAUTHBEARER_SETTINGS, KAFKA_SASL_SETTINGS, KAFKA_TLS_SETTINGS, kafkaSecuritySettings, type KafkaSecuritySettings } from '../../core/kafka-security-settings';
import { clientCredentialsTokenSource, OAuthTokenError } from './oauth-client-credentials';

/**
 * The `ssl` and `sasl` options of every kafkajs client the gateway makes (the relay's producer and
 * admin, the bus's consumers, admin and readiness probe, the topic ensure, the lag metric, and the
 * example consumer), from the KAFKA_SSL* and KAFKA_SASL_* settings checked by kafkaSecuritySettings
 * (src/core; the files they name are read there); with KAFKA_SASL_MECHANISM=oauthbearer, kafkajs's
 * `oauthBearerProvider` gives every connection's authentication the token of one client-credentials
 * source, renewed shortly before it expires (call this once per process and give every client its
 * result: they then share one token), with the extensions. A setting that does not fit throws a
 * ConfigError naming it.
 * @example new Kafka({ brokers, ...kafkaConnectionSecurity(config) })
 */
export function kafkaConnectionSecurity(s: KafkaSecuritySettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { ssl, sasl } = kafkaSecuritySettings(s);
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = ssl === undefined ? {} : { ssl };
  if (sasl?.mechanism === 'oauthbearer') {
    const { extensions, ...grant } = sasl.oauthbearer;
    const token = clientCredentialsTokenSource(grant);
    const withExtensions = Object.keys(extensions).length ? { extensions } : {};
    out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await token(), ...withExtensions }) };
  } else if (sasl) {
    out.sasl = sasl as SASLOptions;
  }
  return out;
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
 * kafkajs's stack. Under OAUTHBEARER: the token endpoint's failure as the OAuthTokenError the token
 * source threw, and the brokers closing the connection once the token is sent as their likely
 * refusal of it (KAFKA_SASL_OAUTHBEARER_*). `kafka` is the client's configuration (its brokers, and whether it has `ssl`
 * and `sasl`). Undefined for another error (the caller says it its own way).
 * @example throw kafkaConnectError(err, this.kafkaConfig) ?? err
 */
export function kafkaConnectError(err: unknown, kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>): UnavailableError | undefined {
  const errors = chain(err);
  // The token endpoint's refusal or absence (OAUTHBEARER), said already with the settings to check.
  const token = errors.find((e): e is OAuthTokenError => e instanceof OAuthTokenError);
  if (token) return token;
  const where = Array.isArray(kafka.brokers) ? kafka.brokers.join(',') : 'the brokers';
  const oauthBearer = (kafka.sasl as { mechanism?: string } | undefined)?.mechanism === 'oauthbearer';
  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || /SASL/.test(e.type ?? ''));
  if (sasl) {
    const check = oauthBearer
      ? `KAFKA_SASL_MECHANISM, ${KAFKA_OAUTHBEARER_SETTINGS} (the brokers must enable OAUTHBEARER and take tokens of that provider)`
      : `${KAFKA_SASL_SETTINGS} (the mechanism must be one the brokers enable, the user must exist on them with that password)`;
    return new UnavailableError('kafka', `the brokers at ${where} refused this client's SASL authentication: ${sasl.message}; check ${check}`, err);
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
  // Kafka refuses a token by answering RFC 7628's JSON error as a challenge (`{"status":"invalid_token"}`),
  // to be ended by the client. kafkajs reads no challenge: it takes itself for authenticated, sends
  // its next request, and the broker closes the connection on it. That close is all there is to see.
  if (closed && oauthBearer) {
    const tls = kafka.ssl ? '' : '; a listener that takes TLS closes a client in clear too: if theirs does, set KAFKA_SSL=on (or KAFKA_SSL_CA_FILE)';
    return new UnavailableError(
      'kafka',
      `the brokers at ${where} closed the connection once this client had sent its OAUTHBEARER token (${closed.message}): Kafka does so when it refuses the token (kafkajs does not read its reason), as does a broker going down; check that the brokers take tokens of KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL's provider (their listener's sasl.oauthbearer.jwks.endpoint.url, expected audience and issuer), that KAFKA_SASL_OAUTHBEARER_SCOPE asks what they expect, and KAFKA_SASL_OAUTHBEARER_EXTENSIONS (Confluent Cloud: logicalCluster, identityPoolId)${tls}`,
      err,
    );
  }
  const lacking = [!kafka.ssl && `KAFKA_SSL=on (or KAFKA_SSL_CA_FILE) for TLS`, !kafka.sasl && `${KAFKA_SASL_SETTINGS} for SASL`].filter(Boolean);
  if (closed && lacking.length) {
    const neither = lacking.length === 2 ? 'TLS or SASL does so to a client that speaks neither' : kafka.ssl ? 'SASL does so to a client that does not authenticate' : 'TLS does so to a client in clear';
    return new UnavailableError('kafka', `the brokers at ${where} closed the connection (${closed.message}): a listener that takes ${neither}, as does a broker going down; if theirs takes it, set ${lacking.join(', ')}`, err);
  }
  return undefined;
}
