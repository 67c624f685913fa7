import { expect } from 'chai';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { healthCauseOf } from '../../src/mcp/health-cause';
import { isolatedAbortFetch } from '../../src/mcp/isolated-abort-fetch';
import { isInternalAddress, type ResolveHost } from '../../src/mcp/private-address';
import { egressRulesFrom } from '../../src/mcp/egress-rules';
import { publicOnlyFetch } from '../../src/mcp/public-only-fetch';
import { SseTransportWithCause } from '../../src/mcp/sse-transport-with-cause';
import { startBearerUpstream, type BearerUpstream } from './support/bearer-upstream';
import { publicTestTls } from './support/public-test-tls';

type Listener = { port: number; seen: string[]; sni: string[]; close(): void };

/** An HTTP (or HTTPS) listener on `host` that notes each request (`Host` and path) and, over TLS, the server name asked for. */
async function listen(host: string, handle: (req: IncomingMessage, res: ServerResponse) => void, tls = false): Promise<Listener> {
  const seen: string[] = [];
  const sni: string[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.headers.host} ${req.url}`);
    handle(req, res);
  };
  const server = tls
    ? createHttpsServer({ ...publicTestTls, SNICallback: (name, cb) => (sni.push(name), cb(null, undefined)) }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    sni,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The system error a "fetch failed" TypeError carries. */
const causeOf = (err: unknown) => (err as { cause?: { code?: string; message?: string; address?: string } }).cause ?? {};
const failure = (p: Promise<unknown>) => p.then(() => expect.fail('the request was answered'), (e: unknown) => e);

/**
 * Names resolve through a resolver of the test's own (the seam: fetch's own lookup cannot be told
 * to answer otherwise), and, where a listener must stand for a public host, 127.0.0.1 counts as
 * public: nothing else on this machine can, and every other loopback address stays internal.
 */
const loopbackIsPublic = (address: string) => address !== '127.0.0.1' && isInternalAddress(address);
const names = (table: Record<string, string>): ResolveHost => async (host) => {
  const address = table[host];
  if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return [{ address, family: 4 }];
};

describe('publicOnlyFetch: each connection of an egress "public" upstream goes to an address checked for it', function () {
  this.timeout(30_000);
  let loop: Listener;
  let inner: Listener;
  let secure: Listener;

  before(async () => {
    loop = await listen('127.0.0.1', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/to') return void res.writeHead(302, { location: url.searchParams.get('location') ?? '/' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.headers.host);
    });
    inner = await listen('127.0.0.2', (_req, res) => void res.writeHead(200).end('inside'));
    secure = await listen('127.0.0.1', (_req, res) => void res.writeHead(200).end('secure'), true);
  });
  beforeEach(() => {
    for (const l of [loop, inner, secure]) l.seen.length = l.sni.length = 0;
  });
  after(() => {
    for (const l of [loop, inner, secure]) l?.close();
  });

  it('a DNS rebinding (a public address for the check, 127.0.0.1 for the connection) is refused at the connection: nothing reaches the listener on 127.0.0.1; INTERNAL_ADDRESS_REFUSED', async () => {
    const answers: string[] = [];
    const rebinding: ResolveHost = async (host) => {
      const address = answers.length === 0 ? '192.0.2.10' : '127.0.0.1';
      answers.push(`${host} ${address}`);
      return [{ address, family: 4 }];
    };
    // "localhost": a name the system resolver, fetch's own lookup, answers with 127.0.0.1 too.
    const err = await failure(publicOnlyFetch({ resolve: rebinding })(`http://localhost:${loop.port}/rebound`));
    expect(loop.seen, 'nothing reached 127.0.0.1').to.deep.equal([]);
    expect(causeOf(err)).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
    expect(causeOf(err).message).to.match(/^localhost resolves to an internal address:/);
    expect(causeOf(err)).to.include({ address: '127.0.0.1' });
    expect(answers, 'the connection used the answer it checked').to.deep.equal(['localhost 192.0.2.10', 'localhost 127.0.0.1']);
    expect(healthCauseOf(err)).to.deep.equal({ kind: 'unreachable', errno: 'INTERNAL_ADDRESS_REFUSED' });
  });

  it('the SSE transport\'s event stream, rebound at its connection: its start fails with the refusal itself (healthCauseOf: INTERNAL_ADDRESS_REFUSED), not the EventSource\'s text', async () => {
    let answered = 0;
    const rebinding: ResolveHost = async () => [{ address: answered++ === 0 ? '192.0.2.10' : '127.0.0.1', family: 4 }];
    const transport = new SseTransportWithCause(new URL(`http://localhost:${loop.port}/sse`), { fetch: isolatedAbortFetch(publicOnlyFetch({ resolve: rebinding })) });
    const client = new Client({ name: 'test', version: '1' });
    try {
      const err = await failure(client.connect(transport));
      expect(loop.seen, 'nothing reached 127.0.0.1').to.deep.equal([]);
      expect(causeOf(err)).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
      expect(healthCauseOf(err)).to.deep.equal({ kind: 'unreachable', errno: 'INTERNAL_ADDRESS_REFUSED' });
    } finally {
      await client.close();
    }
  });

  for (const [what, target] of [
    ['an internal address', (port: number) => `http://127.0.0.2:${port}/`],
    ['a name resolving to an internal address', (port: number) => `http://inside.test:${port}/`],
  ] as const) {
    it(`a redirect to ${what} is refused at its connection: nothing reaches the listener on 127.0.0.2`, async () => {
      const f = publicOnlyFetch({ resolve: names({ 'inside.test': '127.0.0.2' }), isInternal: loopbackIsPublic });
      const err = await failure(f(`http://127.0.0.1:${loop.port}/to?location=${encodeURIComponent(target(inner.port))}`));
      expect(loop.seen.map((s) => s.split(' ')[1])).to.deep.equal([`/to?location=${encodeURIComponent(target(inner.port))}`]);
      expect(inner.seen, 'nothing reached 127.0.0.2').to.deep.equal([]);
      expect(causeOf(err)).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
      expect(causeOf(err)).to.include({ address: '127.0.0.2' });
    });
  }

  it('MCP_EGRESS_ALLOWED_HOSTS: a host it does not list is refused before anything is resolved or sent (EGRESS_HOST_REFUSED); a listed one is reached', async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (host) => (asked.push(host), [{ address: '127.0.0.1', family: 4 }]);
    const f = publicOnlyFetch({ resolve, isInternal: loopbackIsPublic, rules: egressRulesFrom({ allowedHosts: 'public.test' }) });
    const err = await failure(f(`http://other.test:${loop.port}/host`));
    expect(err).to.include({ code: 'EGRESS_HOST_REFUSED' });
    expect((err as Error).message).to.match(/^other\.test:\d+ is not in MCP_EGRESS_ALLOWED_HOSTS/);
    expect(healthCauseOf(err)).to.deep.equal({ kind: 'unreachable', errno: 'EGRESS_HOST_REFUSED' });
    expect(asked).to.deep.equal([]);
    expect(loop.seen).to.deep.equal([]);
    expect(await (await f(`http://public.test:${loop.port}/host`)).text()).to.equal(`public.test:${loop.port}`);
  });

  it('MCP_EGRESS_ALLOWED_HOSTS: a redirect to a host it does not list is refused at its connection: nothing reaches that host', async () => {
    const f = publicOnlyFetch({ resolve: names({ 'public.test': '127.0.0.1', 'other.test': '127.0.0.1' }), isInternal: loopbackIsPublic, rules: egressRulesFrom({ allowedHosts: 'public.test' }) });
    const target = `http://other.test:${loop.port}/landed`;
    const err = await failure(f(`http://public.test:${loop.port}/to?location=${encodeURIComponent(target)}`));
    expect(loop.seen).to.deep.equal([`public.test:${loop.port} /to?location=${encodeURIComponent(target)}`]);
    expect(causeOf(err)).to.include({ code: 'EGRESS_HOST_REFUSED' });
  });

  it('MCP_EGRESS_DENIED_NETWORKS: a name rebound into a denied network at the connection is refused there (INTERNAL_ADDRESS_REFUSED, the address kept for the operator)', async () => {
    let answered = 0;
    const rebinding: ResolveHost = async () => [{ address: answered++ === 0 ? '198.51.100.7' : '203.0.113.9', family: 4 }];
    const f = publicOnlyFetch({ resolve: rebinding, rules: egressRulesFrom({ deniedNetworks: '203.0.113.0/24' }) });
    const err = await failure(f('http://partner.test/mcp'));
    expect(answered).to.equal(2);
    expect(causeOf(err)).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
    expect(causeOf(err)).to.include({ address: '203.0.113.9' });
    expect(causeOf(err).message).to.match(/^partner\.test resolves to an address in MCP_EGRESS_DENIED_NETWORKS:/);
    // Written as an address in the URL: refused before any connection.
    const direct = await failure(publicOnlyFetch({ rules: egressRulesFrom({ deniedNetworks: '203.0.113.0/24' }) })('http://203.0.113.9/mcp'));
    expect(direct).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
    expect((direct as Error).message).to.match(/^203\.0\.113\.9 resolves to an address in MCP_EGRESS_DENIED_NETWORKS:/);
  });

  it('a name connects to the address it was checked at, with its own name in Host (and a redirect to a public name is followed)', async () => {
    const f = publicOnlyFetch({ resolve: names({ 'public.test': '127.0.0.1' }), isInternal: loopbackIsPublic });
    const res = await f(`http://public.test:${loop.port}/host`);
    expect(await res.text()).to.equal(`public.test:${loop.port}`);
    const followed = await f(`http://public.test:${loop.port}/to?location=${encodeURIComponent(`http://public.test:${loop.port}/landed`)}`);
    expect(followed.status).to.equal(200);
    expect(loop.seen.at(-1)).to.equal(`public.test:${loop.port} /landed`);
  });

  it('mixed answers at the connection (Happy Eyeballs: one public, one internal) are refused whole: no address is tried, the public one neither', async () => {
    let answered = 0;
    const mixed: ResolveHost = async () =>
      answered++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }];
    const err = await failure(publicOnlyFetch({ resolve: mixed, isInternal: loopbackIsPublic })(`http://mixed.test:${loop.port}/mixed`));
    expect(loop.seen).to.deep.equal([]);
    expect(causeOf(err)).to.include({ code: 'INTERNAL_ADDRESS_REFUSED' });
    expect(causeOf(err).message).to.match(/^mixed\.test resolves to an internal address:/);
    expect(causeOf(err)).to.include({ address: '127.0.0.2' });
  });

  it('a name pointed inside while its connection is kept alive: the next request is refused, not sent on the open connection', async () => {
    const table: Record<string, string> = { 'moving.test': '127.0.0.1' };
    const f = publicOnlyFetch({ resolve: names(table), isInternal: loopbackIsPublic });
    expect((await f(`http://moving.test:${loop.port}/first`)).status).to.equal(200);
    table['moving.test'] = '127.0.0.2';
    const err = await failure(f(`http://moving.test:${loop.port}/second`));
    expect(err).to.have.property('code', 'INTERNAL_ADDRESS_REFUSED');
    expect(loop.seen.map((x) => x.split(' ')[1])).to.deep.equal(['/first']);
  });

  it('TLS asks for the name (SNI), not the address, and verifies the certificate (a self-signed one is refused)', async () => {
    const f = publicOnlyFetch({ resolve: names({ 'public.test': '127.0.0.1' }), isInternal: loopbackIsPublic });
    const err = await failure(f(`https://public.test:${secure.port}/`));
    expect(secure.sni).to.deep.equal(['public.test']);
    expect(causeOf(err).code).to.match(/SELF_SIGNED/);
    expect(secure.seen).to.deep.equal([]);
  });

  describe('under the client transports the gateway reaches an upstream with (isolatedAbortFetch, requestInit headers; SSE: SseTransportWithCause)', () => {
    let upstream: BearerUpstream;
    before(async () => {
      upstream = await startBearerUpstream('X-Api-Key', 'k-1');
    });
    after(async () => upstream?.close());

    for (const kind of ['streamable HTTP', 'SSE'] as const) {
      it(`${kind}: lists and calls tools, every request with its headers`, async () => {
        const fetch = isolatedAbortFetch(publicOnlyFetch({ resolve: names({ 'public.test': '127.0.0.1' }), isInternal: loopbackIsPublic }));
        const at = (u: string) => new URL(u.replace('127.0.0.1', 'public.test'));
        const options = { fetch, requestInit: { headers: { 'X-Api-Key': 'k-1' } } };
        const transport = kind === 'SSE' ? new SseTransportWithCause(at(upstream.sseUrl), options) : new StreamableHTTPClientTransport(at(upstream.url), options);
        const client = new Client({ name: 'test', version: '1' });
        upstream.requests.length = 0;
        try {
          await client.connect(transport);
          expect((await client.listTools()).tools.map((t) => t.name)).to.include('echo');
          expect(await client.callTool({ name: 'echo', arguments: { text: 'pinned' } })).to.have.nested.property('content[0].text').that.includes('pinned');
        } finally {
          await client.close();
        }
        expect(upstream.requests.length).to.be.greaterThan(1);
        expect(upstream.requests.every((r) => r.authorized)).to.equal(true);
      });
    }
  });
});
