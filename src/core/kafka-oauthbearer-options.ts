import { ConfigError, redactUrl } from './errors';

/** A token endpoint URL's problem (undefined: none): https, or http to this host only (a provider of one's own, in tests); no credentials in it. */
function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an https:// URL (the OIDC provider\'s token endpoint)';
  }
  if (url.username || url.password) return 'expected the token endpoint without credentials in it (the client authenticates with KAFKA_SASL_OAUTHBEARER_CLIENT_ID and KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET)';
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && local)) return undefined;
  return 'expected an https:// URL: over http:// the client secret and the tokens would travel in clear (http:// is taken for localhost only)';
}

/** KAFKA_SASL_OAUTHBEARER_EXTENSIONS (`key=value,…`) as RFC 7628 §3.1 allows them, or a ConfigError naming it. */
function extensionsOf(value: string): Record<string, string> {
  const variable = 'KAFKA_SASL_OAUTHBEARER_EXTENSIONS';
  const out: Record<string, string> = {};
  for (const pair of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    const [key, v] = at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : ['', ''];
    if (!key || !v) throw new ConfigError(`Invalid configuration: ${variable}: expected key=value pairs separated by commas (logicalCluster=lkc-…,identityPoolId=pool-…), got ${JSON.stringify(pair)}`, { variable });
    if (!/^[A-Za-z]+$/.test(key)) throw new ConfigError(`Invalid configuration: ${variable}: ${JSON.stringify(key)}: expected a key of letters only (RFC 7628 §3.1)`, { variable });
    if (key === 'auth') throw new ConfigError(`Invalid configuration: ${variable}: "auth" is the token's own key (RFC 7628 §3.1); name the extension otherwise`, { variable });
    if (!/^[\x21-\x7e]+$/.test(v)) throw new ConfigError(`Invalid configuration: ${variable}: the value of ${key}: expected visible ASCII characters, no spaces`, { variable });
    out[key] = v;
  }
  return out;
}

/** The settings kafkaOAuthBearerParameters reads, part of KafkaSecuritySettings (kafka-security-settings.ts): OAUTHBEARER's own, and the user and password it refuses beside them. */
export type KafkaOAuthBearerSettings = {
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL?: string;
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID?: string;
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET?: string;
  KAFKA_SASL_OAUTHBEARER_SCOPE?: string;
  KAFKA_SASL_OAUTHBEARER_EXTENSIONS?: string;
};

/** OAUTHBEARER's settings, checked: the client-credentials grant and the extensions sent with each token. */
export type KafkaOAuthBearerParameters = {
  tokenEndpointUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** RFC 7628 §3.1 extensions (KAFKA_SASL_OAUTHBEARER_EXTENSIONS), none: {}. */
  extensions: Record<string, string>;
};

/**
 * The KAFKA_SASL_OAUTHBEARER_* settings checked (KAFKA_SASL_MECHANISM=oauthbearer;
 * kafkaSecuritySettings calls this): a setting that does not fit is a ConfigError naming it. The
 * token source that uses them is the bus's (src/bus/kafka/connection-security.ts): nothing here
 * asks the network.
 * @example kafkaOAuthBearerParameters(config).tokenEndpointUrl
 */
export function kafkaOAuthBearerParameters(s: KafkaOAuthBearerSettings): KafkaOAuthBearerParameters {
  for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (s[variable]) {
      throw new ConfigError(`Invalid configuration: ${variable} is set but KAFKA_SASL_MECHANISM=oauthbearer authenticates with a token of the client id and secret (KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET); unset ${variable}`, { variable });
    }
  }
  const missing = (['KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID', 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET'] as const).find((v) => !s[v]);
  if (missing) throw new ConfigError(`Invalid configuration: KAFKA_SASL_MECHANISM=oauthbearer needs ${missing} too`, { variable: missing });
  const url = s.KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL!;
  const problem = endpointProblem(url);
  if (problem) {
    throw new ConfigError(`Invalid configuration: KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL=${JSON.stringify(redactUrl(url))}: ${problem}`, { variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL' });
  }
  return {
    tokenEndpointUrl: url,
    clientId: s.KAFKA_SASL_OAUTHBEARER_CLIENT_ID!,
    clientSecret: s.KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET!,
    scope: s.KAFKA_SASL_OAUTHBEARER_SCOPE || undefined,
    extensions: s.KAFKA_SASL_OAUTHBEARER_EXTENSIONS ? extensionsOf(s.KAFKA_SASL_OAUTHBEARER_EXTENSIONS) : {},
  };
}
