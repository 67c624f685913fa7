import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { clientCredentialsTokenSource, OAuthTokenError } from '../../src/bus/kafka/oauth-client-credentials';
import { startTokenEndpoint, type TokenEndpoint } from '../support/oauth-token-endpoint';
import { kafkaTestTls } from '../support/kafka-broker';

/** The error `p` rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<OAuthTokenError> {
  return p.then(
    () => expect.fail('should have failed'),
    (e: OAuthTokenError) => e,
  );
}

/** A server answering every request with `status` and `body` (an endpoint that is not a token endpoint, or a broken one). */
async function answering(status: number, body: string, type = 'application/json'): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => void res.writeHead(status, { 'content-type': type }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, server };
}

describe('OAuth 2.0 client-credentials token source (RFC 6749 §4.4) against a local token endpoint', () => {
  let endpoint: TokenEndpoint;
  const servers: Server[] = [];
  before(async () => {
    endpoint = await startTokenEndpoint({ clients: { gateway: 'the-secret:with/odd+chars', 'urn:svc kafka+relay': 'plain' } });
  });
  after(async () => {
    await endpoint.stop();
    for (const s of servers) s.close();
  });
  const settings = { tokenEndpointUrl: '', clientId: 'gateway', clientSecret: 'the-secret:with/odd+chars' };

  it('gets a token with HTTP Basic client authentication (id and secret form-urlencoded, §2.3.1) and the scope, and reuses it until shortly before it expires', async () => {
    let now = Date.now();
    const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: endpoint.url, scope: 'kafka', now: () => now });
    const before = endpoint.issued.length;
    const [a, b] = await Promise.all([source(), source()]);
    expect(a).to.equal(b);
    expect(endpoint.issued.length - before, 'tokens issued for two concurrent asks').to.equal(1);
    expect(endpoint.issued.at(-1)).to.include({ token: a, client: 'gateway', scope: 'kafka' });
    expect(endpoint.verify(a)).to.equal('gateway');
    // expires_in 3600: still the same token 55 minutes on; a new one within the last minute.
    now += 55 * 60_000;
    expect(await source()).to.equal(a);
    now += 4 * 60_000 + 1;
    const c = await source();
    expect(c).not.to.equal(a);
    expect(endpoint.issued.length - before).to.equal(2);
  });

  it('a client id with a colon, a space and a plus (a URN): form-urlencoded too, so the colon does not split it (§2.3.1)', async () => {
    const source = clientCredentialsTokenSource({ tokenEndpointUrl: endpoint.url, clientId: 'urn:svc kafka+relay', clientSecret: 'plain' });
    expect(endpoint.verify(await source())).to.equal('urn:svc kafka+relay');
  });

  it('a wrong client secret: OAuthTokenError naming the endpoint, its error and error_description, and the settings; the secret nowhere; not retried by kafkajs', async () => {
    const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: endpoint.url, clientSecret: 'wrong-secret-value' });
    const err = await failure(source());
    expect(err).to.be.instanceOf(OAuthTokenError);
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token refused this client's credentials: 401 invalid_client: Client authentication failed; check KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/);
    expect(err.retriable).to.equal(false);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.to.contain('wrong-secret-value');
  });

  it('a credential in the endpoint URL\'s query (?api_key=…) is masked in the error', async () => {
    const err = await failure(clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: `${endpoint.url}?api_key=key-in-query-123`, clientSecret: 'wrong' })());
    expect(err.message).to.contain(`${endpoint.url}?api_key=***`);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.to.contain('key-in-query-123');
  });

  it('the endpoint unreachable: OAuthTokenError naming KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, retried by kafkajs', async () => {
    const down = await answering(200, '{}');
    down.server.close();
    const err = await failure(clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: down.url })());
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: cannot reach the OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/token \(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\): .*ECONNREFUSED/);
    expect(err.retriable).to.equal(true);
  });

  it("an https:// endpoint whose certificate a private CA signed, that CA not trusted: the error says where to put it (NODE_EXTRA_CA_CERTS)", async () => {
    const server = createHttpsServer(kafkaTestTls(), (_req, res) => void res.end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server as unknown as Server);
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    const err = await failure(clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: url })());
    expect(err.message).to.match(/^kafka: cannot reach the OAuth token endpoint https:\/\/127\.0\.0\.1:\d+\/token \(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\): [A-Z_]+: its certificate is not trusted; a private CA's goes in NODE_EXTRA_CA_CERTS/);
  });

  const broken: [string, number, string, RegExp, boolean][] = [
    ['a 200 without access_token', 200, '{"token_type":"Bearer"}', /answered without an access_token \(RFC 6749 §5\.1\).*check KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL is the token endpoint/, false],
    ['a 200 that is not JSON', 200, '<html>login</html>', /answered without an access_token.*check KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL is the token endpoint/, false],
    ['a 400 invalid_scope', 400, '{"error":"invalid_scope","error_description":"scope kafka unknown"}', /refused this client's credentials: 400 invalid_scope: scope kafka unknown; check .*KAFKA_SASL_OAUTHBEARER_SCOPE/, false],
    // The endpoint's own words, cut short: a page of them is not an error message.
    ['a 401 with a long error_description', 401, JSON.stringify({ error: 'invalid_client', error_description: 'x'.repeat(5000) }), /401 invalid_client: x{200}…; check/, false],
    ['a 503', 503, 'busy', /answered 503.*\(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\)/, true],
    // A 4xx that is not about the client: rate limited, or too slow to read the request. Not "check the credentials".
    ['a 429 (rate limited)', 429, '{"error":"slow_down"}', /answered 429 Too Many Requests: the provider is failing or down; the clients try again \(KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL\)/, true],
  ];
  for (const [name, status, body, expected, retriable] of broken) {
    it(`${name}: OAuthTokenError saying so (${retriable ? '' : 'not '}retried)`, async () => {
      const s = await answering(status, body);
      servers.push(s.server);
      const err = await failure(clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: s.url })());
      expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err.message).to.match(expected);
      expect(err.retriable).to.equal(retriable);
    });
  }

  it("without expires_in: a JWT's exp says how long it is kept; an opaque token is not kept (asked for each time)", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const jwt = `e30.${Buffer.from(JSON.stringify({ sub: 'gateway', exp })).toString('base64url')}.c2ln`;
    for (const [token, asks] of [[jwt, 1], ['opaque-token', 2]] as const) {
      let requests = 0;
      const server = createServer((_req, res) => void (requests++, res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer' }))));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      servers.push(server);
      const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token` });
      expect(await source()).to.equal(token);
      expect(await source()).to.equal(token);
      expect(requests, token).to.equal(asks);
    }
  });

  it('expires_in counts from when the token was asked for, not from the answer: a slow answer does not keep a token past its expiry', async () => {
    // The endpoint takes 30 minutes (on the source's clock) to answer a token of 3600 s: issued at
    // most then, it expires at 60 min from the ask; kept till 59, not till 30 + 59.
    let now = 0;
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      now += 30 * 60_000;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${requests}`, token_type: 'Bearer', expires_in: 3600 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, now: () => now });
    expect(await source()).to.equal('t1');
    now = 59 * 60_000 + 1;
    expect(await source(), 'the token 1 ms into its last minute').to.equal('t2');
  });

  it('a redirect is not followed (it could lead from https:// to a token in clear, or to another host): OAuthTokenError naming where it points, not retried', async () => {
    const target = await answering(200, '{"access_token":"elsewhere","token_type":"Bearer","expires_in":3600}');
    servers.push(target.server);
    let reached = 0;
    target.server.on('request', () => reached++);
    const redirecting = createServer((_req, res) => void res.writeHead(307, { location: target.url }).end());
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', () => r()));
    servers.push(redirecting);
    const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/token`;
    const err = await failure(clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: url })());
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.contain(`the OAuth token endpoint ${url} answered 307, a redirect to ${target.url}, which is not followed`);
    expect(err.message).to.match(/set KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL to the token endpoint itself/);
    expect(err.retriable).to.equal(false);
    expect(reached, 'requests the redirect\'s target received').to.equal(0);
  });

  it('a renewal that fails while the kept token is still valid (its last minute) gives that token, asking again next time; once it has expired, the failure', async () => {
    let now = 0;
    let status = 200;
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      if (status !== 200) return void res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${requests}`, token_type: 'Bearer', expires_in: 3600 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, now: () => now });
    expect(await source()).to.equal('t1');
    status = 503;
    now = 59.5 * 60_000;
    expect(await source(), 'the renewal failing 30 s before expiry').to.equal('t1');
    expect(await source(), 'asked again').to.equal('t1');
    expect(requests).to.equal(3);
    now = 60 * 60_000;
    const err = await failure(source());
    expect(err.message).to.match(/answered 503/);
    status = 200;
    expect(await source()).to.equal('t5');
  });

  it('after a failure the next ask tries again (nothing failed is cached)', async () => {
    const source = clientCredentialsTokenSource({ ...settings, tokenEndpointUrl: endpoint.url, clientId: 'nobody' });
    await failure(source());
    const asked = endpoint.requests;
    await failure(source());
    expect(endpoint.requests).to.equal(asked + 1);
  });
});
