import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type TokenEndpointOptions = {
  /** Client ids and their secrets (an OIDC provider's registered clients). */
  clients: Record<string, string>;
  /** Lifetime of an issued token, in seconds (`expires_in`; default 3600). Changeable later through `lifetimeSeconds`. */
  lifetimeSeconds?: number;
};

export type TokenEndpoint = {
  /** `http://127.0.0.1:PORT/oauth2/token`. */
  url: string;
  /** The lifetime of the tokens issued from now on, in seconds. */
  lifetimeSeconds: number;
  /** Every token issued so far, in order, with its client and the scope asked. */
  issued: { token: string; client: string; scope?: string; expiresAt: number }[];
  /** Requests received so far (answered or refused). */
  requests: number;
  /** The subject (client id) of `token` when this endpoint issued it and it has not expired; undefined otherwise. */
  verify(token: string): string | undefined;
  /** Whether `token`, issued here, has expired. */
  expired(token: string): boolean;
  stop(): Promise<void>;
};

const b64url = (x: Buffer | string) => Buffer.from(x).toString('base64url');

/**
 * An OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749 §4.4), as an OIDC provider
 * serves it: POST `grant_type=client_credentials[&scope=…]` with the client authenticated by HTTP
 * Basic (§2.3.1, id and secret form-urlencoded) or by `client_id`/`client_secret` in the body;
 * answers `{access_token, token_type: "Bearer", expires_in}` (§5.1), or a §5.2 error
 * (`invalid_client` 401, `unsupported_grant_type` 400…). Its tokens are JWTs (HS256 with a key of
 * its own, `sub` the client id, `exp`), which `verify` checks: the test broker's OAUTHBEARER
 * server accepts only those, as a broker with KIP-768's validator accepts only its issuer's.
 */
export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const key = randomBytes(32);
  const sign = (body: string) => createHmac('sha256', key).update(body).digest();
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = (token: string): { sub: string; exp: number } | undefined => {
    const [h, p, s] = token.split('.');
    if (!h || !p || !s) return undefined;
    const expected = sign(`${h}.${p}`);
    const given = Buffer.from(s, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  };
  const endpoint: TokenEndpoint = {
    url: '',
    lifetimeSeconds: options.lifetimeSeconds ?? 3600,
    issued: [],
    requests: 0,
    verify(token) {
      const c = claims(token);
      return c && c.exp * 1000 > Date.now() ? c.sub : undefined;
    },
    expired: (token) => (claims(token)?.exp ?? 0) * 1000 <= Date.now(),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
    });
  const server: Server = createServer((req, res) => {
    endpoint.requests++;
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    void read(req).then((text) => {
      if (req.method !== 'POST' || req.url !== '/oauth2/token') return answer(404, { error: 'not_found' });
      if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '')) return answer(400, { error: 'invalid_request', error_description: 'expected a form' });
      const form = new URLSearchParams(text);
      let id = form.get('client_id') ?? undefined;
      let secret = form.get('client_secret') ?? undefined;
      const basic = req.headers.authorization?.match(/^Basic (.+)$/)?.[1];
      if (basic) {
        const [u, p] = Buffer.from(basic, 'base64').toString('utf8').split(':');
        [id, secret] = [decodeURIComponent(u.replace(/\+/g, ' ')), decodeURIComponent((p ?? '').replace(/\+/g, ' '))];
      }
      if (form.get('grant_type') !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type', error_description: `grant_type ${form.get('grant_type')}` });
      if (!id || !Object.hasOwn(options.clients, id) || options.clients[id] !== secret) {
        res.setHeader('www-authenticate', 'Basic realm="test"');
        return answer(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      }
      // NumericDate may have a fraction (RFC 7519 §2): a 1 s token lives 1 s, not up to the next whole second.
      const exp = (Date.now() + endpoint.lifetimeSeconds * 1000) / 1000;
      const payload = b64url(JSON.stringify({ sub: id, exp, jti: randomBytes(8).toString('hex') }));
      const token = `${header}.${payload}.${b64url(sign(`${header}.${payload}`))}`;
      const scope = form.get('scope') ?? undefined;
      endpoint.issued.push({ token, client: id, scope, expiresAt: exp * 1000 });
      answer(200, { access_token: token, token_type: 'Bearer', expires_in: endpoint.lifetimeSeconds, ...(scope ? { scope } : {}) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
  return endpoint;
}
