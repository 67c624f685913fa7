import { expect } from 'chai';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { LightMyRequestResponse } from 'fastify';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { createRateLimiter } from '../../src/auth/rate-limit';
import { MemoryCache } from '../../src/cache/memory';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { uiPlugin } from '../../src/ui';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';
import { roomInRateWindow } from '../support/rate-window';

/**
 * REST, /mcp and /ui/api count against one per-key window (one limiter, as src/main.ts wires it),
 * and every answer to a known key says where it left that window, on each of the three alike:
 * RateLimit-Limit, -Remaining and -Reset, a 403 and a 429 included; none before the key is known.
 */
describe('RateLimit-* headers on /v1, /mcp and /ui/api answers alike', function () {
  this.timeout(30_000);
  const LIMIT = 4;
  let h: Harness;
  let close: () => Promise<void>;

  before(async () => {
    const limiter = createRateLimiter({ cache: new MemoryCache(1000), perKeyPerMinute: LIMIT, perTenantPerMinute: 1000 });
    let gw;
    ({ h, gw, close } = await makeGatewayHarness({ rateLimiter: limiter }));
    const auth = createAuthenticator({ keys: h.keys });
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(auth, limiter) });
    await h.app.register(uiPlugin, { store: h.store, readModels: h.deps.readModels, authenticate: auth.authenticate, rateLimit: limiter });
  });
  after(async () => close());
  // Each test counts down a key's window: begun with under 5 s left of the clock's minute, its
  // requests could count in two windows (a count starting again). Then it waits for the next minute.
  beforeEach(() => roomInRateWindow(5_000));

  const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const mcp = (auth: string | undefined) =>
    h.call({ method: 'POST', url: '/mcp', auth, payload: initialize, headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' } });
  const limits = (res: LightMyRequestResponse) => ({
    status: res.statusCode,
    limit: res.headers['ratelimit-limit'],
    remaining: res.headers['ratelimit-remaining'],
    reset: res.headers['ratelimit-reset'] === undefined ? undefined : Number(res.headers['ratelimit-reset']),
  });

  it('one key across the three: each answer counts down the same window, and the 429 that follows says none are left, on any of them', async () => {
    const { auth } = await h.key('operator', 'acme');
    const seen = [
      limits(await h.call({ method: 'GET', url: '/v1/tasks', auth })),
      limits(await mcp(auth)),
      limits(await h.call({ method: 'GET', url: '/ui/api/config', auth })),
      limits(await h.call({ method: 'GET', url: '/ui/api/activity', auth })),
    ];
    expect(seen.map(({ reset: _reset, ...s }) => s)).to.deep.equal([
      { status: 200, limit: String(LIMIT), remaining: '3' },
      { status: 200, limit: String(LIMIT), remaining: '2' },
      { status: 200, limit: String(LIMIT), remaining: '1' },
      { status: 200, limit: String(LIMIT), remaining: '0' },
    ]);
    for (const s of seen) expect(s.reset).to.be.within(1, 60);
    for (const res of [await h.call({ method: 'GET', url: '/v1/tasks', auth }), await mcp(auth), await h.call({ method: 'GET', url: '/ui/api/config', auth })]) {
      const l = limits(res);
      expect(l, res.body).to.include({ status: 429, limit: String(LIMIT), remaining: '0' });
      expect(l.reset).to.equal(Number(res.headers['retry-after']));
    }
  });

  it('/mcp: on a session\'s answers too, which the MCP SDK writes itself', async () => {
    const { auth } = await h.key('agent', 'acme');
    const init = await mcp(auth);
    const sid = String(init.headers['mcp-session-id']);
    const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
    const ping = await h.call({ method: 'POST', url: '/mcp', auth, headers, payload: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect(limits(ping), ping.body).to.include({ status: 200, limit: String(LIMIT), remaining: '2' });
    const end = await h.call({ method: 'DELETE', url: '/mcp', auth, headers: { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION } });
    expect(limits(end), end.body).to.include({ status: 200, remaining: '1' });
  });

  it('a 403 for the role counts and says so, on /mcp (a viewer may not call tools) as on /v1', async () => {
    const { auth } = await h.key('viewer', 'acme');
    expect(limits(await mcp(auth))).to.include({ status: 403, limit: String(LIMIT), remaining: '3' });
    expect(limits(await h.call({ method: 'POST', url: '/v1/keys', auth, payload: { role: 'viewer', tenant: 'acme' } }))).to.include({ status: 403, remaining: '2' });
    expect(limits(await h.call({ method: 'GET', url: '/ui/api/mcp-health', auth }))).to.include({ status: 200, remaining: '1' });
  });

  it('none before the key is known (401), on /mcp and /ui/api as on /v1', async () => {
    for (const res of [await mcp(undefined), await mcp('Bearer omk_nonsense'), await h.call({ method: 'GET', url: '/ui/api/config' }), await h.call({ method: 'GET', url: '/v1/tasks' })]) {
      expect(limits(res)).to.deep.equal({ status: 401, limit: undefined, remaining: undefined, reset: undefined });
    }
  });
});
