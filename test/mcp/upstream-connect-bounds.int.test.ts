import { expect } from 'chai';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultUpstreamOptions, Upstream } from '../../src/mcp/upstream';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { buildRpcErrorServer } from './support/rpc-error-server';
import { until } from './support/until';

type Hold = 'initialize' | 'notifications/initialized';

/**
 * The rpc-error server over streamable HTTP (JSON answers), which can hold back its answer to
 * initialize for a while or until a gate opens, or to notifications/initialized for good (a
 * request the SDK sends without a timeout of its own), and counts the tools/call requests it was sent.
 */
async function startHoldingUpstream() {
  const mcp = mcpSessions(() => buildRpcErrorServer(), { json: true });
  const held = new Set<ServerResponse>();
  const hold: { method?: Hold; ms?: number | Promise<void> } = {};
  let arrived = 0;
  let calls = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const method = (body as { method?: string } | undefined)?.method;
      if (method === 'tools/call') calls++;
      if (method && method === hold.method) {
        arrived++;
        if (hold.ms === undefined) return void held.add(res);
        await (typeof hold.ms === 'number' ? new Promise((r) => setTimeout(r, hold.ms as number)) : hold.ms);
      }
      await mcp.handle(req, res, body);
    })().catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    /** Hold `method`'s answer: `ms` long, until the promise settles, or (neither) for good. */
    hold: (method: Hold | undefined, ms?: number | Promise<void>) => Object.assign(hold, { method, ms }),
    /** How many requests of a held method arrived so far. */
    arrived: () => arrived,
    calls: () => calls,
    /** Answer nothing held so far: end those requests' connections. */
    release: () => {
      for (const res of held) res.destroy();
      held.clear();
    },
    close: async () => {
      for (const res of held) res.destroy();
      await mcp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** `p`'s outcome, or 'still pending' after `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then((v) => ({ value: v }), (error: unknown) => ({ error })), new Promise<'still pending'>((r) => setTimeout(() => r('still pending'), ms))]);

describe('Upstream: connecting ends in bounded time, and a call cancelled meanwhile never reaches the upstream', function () {
  this.timeout(20_000);
  let remote: Awaited<ReturnType<typeof startHoldingUpstream>>;
  const upstreams: Upstream[] = [];
  const open = (connectTimeoutMs: number) => {
    const health: string[] = [];
    const u = new Upstream(
      { id: 'u1', tenant: 'acme', name: 'holding', transport: 'http', url: remote.url } as ConstructorParameters<typeof Upstream>[0],
      { ...defaultUpstreamOptions, connectTimeoutMs, healthIntervalMs: 0 },
      { onHealth: (s) => void health.push(s), onTools: () => {} },
    );
    upstreams.push(u);
    return { u, health };
  };

  before(async () => {
    remote = await startHoldingUpstream();
  });
  afterEach(async () => {
    remote.hold(undefined);
    remote.release();
    for (const u of upstreams.splice(0)) await u.close();
  });
  after(async () => {
    await remote?.close();
  });

  it('an upstream that never answers the POST of notifications/initialized is down after the connect timeout, not waited on for ever', async function () {
    remote.hold('notifications/initialized');
    const { u, health } = open(300);
    const outcome = await within(u.checkHealth(), 5_000);
    expect(outcome).to.deep.equal({ value: 'down' });
    expect(health).to.deep.equal(['down']);
    // And a call meanwhile fails as the connect did, rather than holding its slot for ever.
    const call = await within(u.call('failed', {}, false), 5_000);
    expect(call).to.have.property('error').that.includes({ code: 'MCP_UPSTREAM_TIMEOUT' });
    expect(u.inFlight).to.equal(0);
    // Nor does closing it (at shutdown, or removing the server) wait on a connect for ever.
    remote.hold('notifications/initialized');
    const connecting = u.checkHealth();
    await new Promise((r) => setTimeout(r, 50));
    expect(await within(u.close(), 5_000)).to.deep.equal({ value: undefined });
    await connecting;
  });

  it('closing it while it connects ends the connect then, not at the connect timeout (a shutdown while a server slow to start registers)', async function () {
    remote.hold('initialize');
    const { u, health } = open(600_000);
    const connecting = u.connect().then(
      () => 'connected',
      (err: { code?: string }) => err.code,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await within(u.close(), 5_000)).to.deep.equal({ value: undefined });
    expect(await within(connecting, 5_000)).to.deep.equal({ value: 'MCP_UPSTREAM_UNAVAILABLE' });
    // Closing is no outage of the server: nothing reported.
    expect(health).to.deep.equal([]);
  });

  it('a call to a server too slow to start says that connecting timed out, not that the tool gave no answer (it read "no answer within 10000 ms" of a tool whose call timeout is 30 s)', async function () {
    remote.hold('initialize', 1_500);
    const { u } = open(300);
    const outcome = await within(u.call('failed', {}, false), 5_000);
    expect(outcome).to.have.property('error').that.includes({ code: 'MCP_UPSTREAM_TIMEOUT', message: `holding (${remote.url}): no answer to initialize within 300 ms, while connecting` });
    expect(remote.calls()).to.equal(0);
  });

  it('a call cancelled while its upstream connects is cancelled, and not sent once connected', async function () {
    // initialize answered only once the call was cancelled (a 400 ms hold and an abort at 100 ms
    // raced under load: the connect could finish first, and the call go out).
    let answer!: () => void;
    const before = remote.arrived();
    remote.hold('initialize', new Promise<void>((r) => (answer = r)));
    const { u } = open(5_000);
    const ac = new AbortController();
    const call = u.call('failed', {}, false, { signal: ac.signal });
    await until('initialize reaches the upstream', () => remote.arrived() > before); // it connects
    ac.abort('the client went away');
    const outcome = await within(call, 5_000);
    expect(outcome).to.have.property('error').that.includes({ code: 'MCP_CALL_CANCELLED' });
    answer();
    // The connection was made (for the next call), the cancelled call never sent.
    expect(await u.checkHealth()).to.equal('up');
    expect(remote.calls()).to.equal(0);
  });

  it('a call cancelled while its upstream connects ends then, not when the connect does (a drain, an agent run stopped, held to the connect timeout); the connect goes on', async function () {
    remote.hold('initialize');
    const { u } = open(600_000);
    const connecting = u.connect().then(
      () => 'connected',
      (err: { code?: string }) => err.code,
    );
    const ac = new AbortController();
    const call = u.call('failed', {}, false, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort('the client went away');
    const outcome = await within(call, 5_000);
    expect(outcome).to.have.property('error').that.includes({ code: 'MCP_CALL_CANCELLED' });
    // Held for good: the call could not have ended with it.
    expect(await within(connecting, 50), 'the connect is not ended by one call giving up').to.equal('still pending');
    remote.release();
    expect(await within(connecting, 5_000)).to.not.equal('still pending');
    expect(remote.calls()).to.equal(0);
  });
});
