import { expect } from 'chai';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { createAuthFailureLimiter } from '../../src/auth/auth-failure-limit';
import { MemoryCache } from '../../src/cache/memory';
import { openRedisCache, type RedisCache } from '../../src/cache/redis';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { uiPlugin } from '../../src/ui';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { makeGatewayHarness } from './support/gateway-harness';
import { makeHarness, type Harness } from './support/harness';
import { roomInRateWindow } from '../support/rate-window';

const BAD = `Bearer omk_${'Z'.repeat(43)}`;
const limits = (failed: number) => ({ perKeyPerMinute: 100_000, perTenantPerMinute: 100_000, failedAuthPerAddressPerMinute: failed });

describe('Failed authentications are limited per client address', function () {
  this.timeout(30_000);
  // Each test counts down an address's window, which is the clock's minute: begun with under 10 s
  // left of it (a harness to make included), its requests could count in two windows. Then it waits for the next.
  beforeEach(() => roomInRateWindow(10_000));

  describe('REST', () => {
    let h: Harness;
    before(async () => {
      h = await makeHarness({ rateLimit: limits(3) });
    });
    after(() => h.close());
    const get = (auth: string, remoteAddress: string, headers: Record<string, string> = {}) =>
      h.app.inject({ method: 'GET', url: '/v1/tasks', remoteAddress, headers: { authorization: auth, ...headers } });

    it('past the limit an address gets 429 RATE_LIMITED with Retry-After, valid keys included; other addresses are not affected', async () => {
      const good = await h.key('viewer', 'acme');
      for (let i = 0; i < 3; i++) expect((await get(BAD, '198.51.100.1')).statusCode).to.equal(401);
      const refused = await get(BAD, '198.51.100.1');
      expect(refused.statusCode).to.equal(429);
      expect(refused.json()).to.include({ code: 'RATE_LIMITED' });
      expect(refused.json().detail).to.match(/failed authentications/);
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
      // Blocked before the key is looked at: a guess that happens to be right tells nothing.
      expect((await get(good.auth, '198.51.100.1')).statusCode).to.equal(429);
      expect((await get(good.auth, '198.51.100.2')).statusCode).to.equal(200);
      expect((await get(BAD, '198.51.100.2')).statusCode).to.equal(401);
    });

    it('successful requests do not count', async () => {
      const good = await h.key('viewer', 'acme');
      for (let i = 0; i < 10; i++) expect((await get(good.auth, '198.51.100.3')).statusCode).to.equal(200);
      for (let i = 0; i < 3; i++) expect((await get(BAD, '198.51.100.3')).statusCode).to.equal(401);
    });

    it("an IPv6 client is counted by its /64 (it can rotate the rest at will), an IPv4 client on a dual-stack socket (::ffff:a.b.c.d) by its IPv4 address", async () => {
      // One subscriber's /64: each guess from a new interface address.
      for (let i = 1; i <= 3; i++) expect((await get(BAD, `2001:db8:1:2::${i.toString(16)}`)).statusCode).to.equal(401);
      expect((await get(BAD, '2001:db8:1:2:ffff:eeee:dddd:cccc')).statusCode).to.equal(429);
      expect((await get(BAD, '2001:0db8:0001:0002:0:0:0:0')).statusCode).to.equal(429);
      // The next /64 is another client.
      expect((await get(BAD, '2001:db8:1:3::1')).statusCode).to.equal(401);
      // IPv4 seen as IPv4-mapped IPv6 is that IPv4 address, not a /64 shared by every IPv4 client.
      for (let i = 0; i < 2; i++) expect((await get(BAD, '::ffff:198.51.100.40')).statusCode).to.equal(401);
      expect((await get(BAD, '198.51.100.40')).statusCode).to.equal(401);
      expect((await get(BAD, '::ffff:198.51.100.40')).statusCode).to.equal(429);
      expect((await get(BAD, '::ffff:198.51.100.41')).statusCode).to.equal(401);
    });

    it('X-Forwarded-For is ignored unless TRUST_PROXY names the proxy', async () => {
      // Without trustProxy every forwarded address is the proxy's (the socket's) address.
      for (let i = 0; i < 3; i++) await get(BAD, '198.51.100.4', { 'x-forwarded-for': `203.0.113.${i}` });
      expect((await get(BAD, '198.51.100.4', { 'x-forwarded-for': '203.0.113.99' })).statusCode).to.equal(429);
      const proxied = await makeHarness({ rateLimit: limits(2), trustProxy: '198.51.100.5' });
      try {
        const via = (auth: string, client: string) => proxied.app.inject({ method: 'GET', url: '/v1/tasks', remoteAddress: '198.51.100.5', headers: { authorization: auth, 'x-forwarded-for': client } });
        for (let i = 0; i < 2; i++) expect((await via(BAD, '203.0.113.7')).statusCode).to.equal(401);
        expect((await via(BAD, '203.0.113.7')).statusCode).to.equal(429);
        expect((await via(BAD, '203.0.113.8')).statusCode).to.equal(401);
        // A client that is not the trusted proxy cannot choose its address by the header.
        const direct = (client: string) => proxied.app.inject({ method: 'GET', url: '/v1/tasks', remoteAddress: '198.51.100.6', headers: { authorization: BAD, 'x-forwarded-for': client } });
        for (let i = 0; i < 2; i++) await direct(`203.0.113.${20 + i}`);
        expect((await direct('203.0.113.30')).statusCode).to.equal(429);
      } finally {
        await proxied.close();
      }
    });
  });

  it('counted in Redis, the limit holds across processes', async function () {
    await requireService(this, 'redis', redisAvailable);
    const prefix = redisTestPrefix('omc_authfail');
    const caches: RedisCache[] = [await openRedisCache(REDIS_TEST_URL, prefix.prefix), await openRedisCache(REDIS_TEST_URL, prefix.prefix)];
    const [a, b] = await Promise.all(caches.map((cache) => makeHarness({ cache, rateLimit: limits(4) })));
    try {
      const bad = (x: Harness) => x.app.inject({ method: 'GET', url: '/v1/tasks', remoteAddress: '198.51.100.9', headers: { authorization: BAD } });
      for (const x of [a, b, a, b]) expect((await bad(x)).statusCode).to.equal(401);
      expect((await bad(a)).statusCode).to.equal(429);
      expect((await bad(b)).statusCode).to.equal(429);
    } finally {
      await a.close();
      await b.close();
      for (const c of caches) await c.close();
      await prefix.drop();
    }
  });

  it('/mcp: a JSON-RPC 429 with Retry-After past the limit', async () => {
    const { h, gw, close } = await makeGatewayHarness();
    try {
      const auth = createAuthenticator({ keys: h.keys, failures: createAuthFailureLimiter({ cache: new MemoryCache(), perAddressPerMinute: 2 }) });
      await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(auth) });
      const post = () =>
        h.app.inject({ method: 'POST', url: '/mcp', remoteAddress: '198.51.100.10', headers: { authorization: BAD, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: '{}' });
      for (let i = 0; i < 2; i++) expect((await post()).statusCode).to.equal(401);
      const refused = await post();
      expect(refused.statusCode).to.equal(429);
      expect(refused.json().error.message).to.match(/failed authentications/);
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    } finally {
      await close();
    }
  });

  it('/ui/api: a 429 problem past the limit', async () => {
    const h = await makeHarness();
    try {
      const auth = createAuthenticator({ keys: h.keys, failures: createAuthFailureLimiter({ cache: new MemoryCache(), perAddressPerMinute: 2 }) });
      await h.app.register(uiPlugin, { store: h.store, readModels: h.deps.readModels, authenticate: auth.authenticate });
      const get = () => h.app.inject({ method: 'GET', url: '/ui/api/config', remoteAddress: '198.51.100.11', headers: { authorization: BAD } });
      for (let i = 0; i < 2; i++) expect((await get()).statusCode).to.equal(401);
      const refused = await get();
      expect(refused.statusCode).to.equal(429);
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    } finally {
      await h.close();
    }
  });
});
