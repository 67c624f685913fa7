import { redactUrl, UnavailableError } from '../../core/errors';

export type ClientCredentialsParameters = {
  /** The OIDC provider's token endpoint (KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL). */
  tokenEndpointUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; none: the provider's default. */
  scope?: string;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
};

/** A token endpoint call's failure, with the settings to check; `retriable` tells kafkajs whether to try again (an endpoint down) or not (credentials refused). */
export class OAuthTokenError extends UnavailableError {
  constructor(
    message: string,
    readonly retriable: boolean,
    cause?: unknown,
  ) {
    super('kafka', message, cause);
  }
}

const CREDENTIALS = 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET';
const ENDPOINT = 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL';
/** A call that hangs is an endpoint down: kafkajs's own authentication timeout is 10 s. */
const TIMEOUT_MS = 10_000;

/** RFC 6749 §2.3.1: the id and the secret form-urlencoded (a `:` in the id must not split it), then Basic. */
const formEncode = (s: string) => new URLSearchParams({ s }).toString().slice(2);

/** `exp` of a JWT access token (seconds), when the endpoint gave no `expires_in`. */
function jwtExpiry(token: string): number | undefined {
  try {
    const exp = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A source of access tokens from the client-credentials grant (RFC 6749 §4.4): one POST of
 * `grant_type=client_credentials` (and `scope`), the client authenticated with HTTP Basic
 * (§2.3.1, as Kafka's own OAUTHBEARER login does). The token is kept until a fifth of its lifetime,
 * at most a minute, is left (`expires_in`, else the JWT's `exp`; neither: not kept), and asks made
 * while one is on its way share it: one source serves every client of a process. A failure is an
 * OAuthTokenError naming the settings, never the secret or a token, and is not kept (while the kept token has not expired yet, that token is given instead).
 * @example const token = clientCredentialsTokenSource({ tokenEndpointUrl, clientId, clientSecret }); await token()
 */
export function clientCredentialsTokenSource(p: ClientCredentialsParameters): () => Promise<string> {
  const now = p.now ?? Date.now;
  let kept: { token: string; renewAt: number; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    // What messages show of it: a credential in its query (`?api_key=`) masked.
    const url = redactUrl(p.tokenEndpointUrl);
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...(p.scope ? { scope: p.scope } : {}) });
    // expires_in counts from the token's issue, some time after this: counted from here, never from the answer, it is not kept past its expiry.
    const started = now();
    let res: Response;
    try {
      res = await fetch(p.tokenEndpointUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${formEncode(p.clientId)}:${formEncode(p.clientSecret)}`).toString('base64')}`,
        },
        body,
        // Not followed: a redirect could take the request from https:// to http:// (the token then in clear) or to another host.
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const code = e.cause?.code ?? '';
      const why = e.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
      // A provider with a private CA: Node checks its certificate against the system's CAs and NODE_EXTRA_CA_CERTS (KAFKA_SSL_CA_FILE is the brokers').
      const tls = /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_)/.test(code) ? `: its certificate is not trusted; a private CA's goes in NODE_EXTRA_CA_CERTS` : '';
      throw new OAuthTokenError(`cannot reach the OAuth token endpoint ${url} (${ENDPOINT}): ${why}${tls}`, true, err);
    }
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get('location');
      throw new OAuthTokenError(
        `the OAuth token endpoint ${url} answered ${res.status}, a redirect${to ? ` to ${redactUrl(to)}` : ''}, which is not followed (the client secret and the token go to ${ENDPOINT} alone); set ${ENDPOINT} to the token endpoint itself (the provider's OIDC discovery names it: token_endpoint)`,
        false,
      );
    }
    const text = await res.text().catch(() => '');
    let json: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object') json = parsed;
    } catch {
      // Not JSON: said below as what it lacks.
    }
    // 408 and 429 are the endpoint's state (too slow a request, a rate limit), not the client's credentials: retried as a 5xx is.
    const transient = res.status === 408 || res.status === 429;
    if (res.status >= 400 && res.status < 500 && !transient) {
      // §5.2: `error` and `error_description` are the endpoint's words for what is wrong (never the secret).
      const said = [json.error, json.error_description].filter((x): x is string => typeof x === 'string').map((x) => (x.length > 200 ? `${x.slice(0, 200)}…` : x)).join(': ') || res.statusText;
      throw new OAuthTokenError(
        `the OAuth token endpoint ${url} refused this client's credentials: ${res.status} ${said}; check ${CREDENTIALS} (a client of that provider allowed the client-credentials grant) and KAFKA_SASL_OAUTHBEARER_SCOPE (a scope it grants that client), and that ${ENDPOINT} is its token endpoint`,
        false,
      );
    }
    if (!res.ok) throw new OAuthTokenError(`the OAuth token endpoint ${url} answered ${res.status} ${res.statusText}: the provider is failing or down; the clients try again (${ENDPOINT})`, true);
    const token = json.access_token;
    if (typeof token !== 'string' || !token) {
      throw new OAuthTokenError(
        `the OAuth token endpoint ${url} answered without an access_token (RFC 6749 §5.1), in ${res.headers.get('content-type') ?? 'no content type'}; check ${ENDPOINT} is the token endpoint (the provider's OIDC discovery names it: token_endpoint), not its issuer or a login page`,
        false,
      );
    }
    const expiresIn = Number(json.expires_in);
    const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? started + expiresIn * 1000 : jwtExpiry(token);
    kept = expiresAt === undefined ? undefined : { token, renewAt: expiresAt - Math.min(60_000, (expiresAt - started) / 5), expiresAt };
    return token;
  };
  return () => {
    if (kept && now() < kept.renewAt) return Promise.resolve(kept.token);
    // A renewal that fails before the kept token expires (an endpoint's blip in its last minute)
    // gives that token, as Kafka's own login keeps its token while it retries; the next ask tries again.
    pending ??= fetchToken()
      .catch((err: unknown) => {
        if (kept && now() < kept.expiresAt) return kept.token;
        kept = undefined;
        throw err;
      })
      .finally(() => (pending = undefined));
    return pending;
  };
}
