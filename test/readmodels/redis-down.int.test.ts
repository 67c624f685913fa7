import { expect } from 'chai';
import { openRedisCache, type RedisCache } from '../../src/cache/redis';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { makeHarness, type Harness } from '../api/support/harness';

/**
 * Redis is a cache (docs/operations.md): while it is unreachable the REST reads are answered from
 * the SQL read models. Redis is reached through a proxy whose link the test cuts, so the shared
 * server keeps running.
 */
describe('REST reads while Redis is unreachable', function () {
  this.timeout(40_000);
  let proxy: CutProxy;
  let cache: RedisCache;
  let h: Harness;
  const prefix = redisTestPrefix('omc_rdown');
  /** The read side's bypass window after a cache failure (CACHE_SKIP_MS, 5 s, in production): the second test waits past it. */
  const CACHE_SKIP_MS = 500;

  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    const target = new URL(REDIS_TEST_URL);
    proxy = await cutProxy(target.hostname, Number(target.port || 6379));
    cache = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix);
    h = await makeHarness({ cache }, { cacheSkipMs: CACHE_SKIP_MS });
  });
  after(async () => {
    await h?.close();
    await cache?.close();
    await proxy?.close();
    await prefix.drop();
  });

  it('answers GET /v1/tasks/:id and GET /v1/tasks from SQL, not a 500', async () => {
    const k = await h.key('operator', 'acme');
    const post = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'x' } }] } });
    expect(post.statusCode).to.equal(202);
    const id = post.json().id as string;
    expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.auth })).statusCode).to.equal(200);

    await proxy.down();
    const one = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.auth });
    expect(one.statusCode, one.body).to.equal(200);
    expect(one.json()).to.include({ id, status: 'submitted' });
    const list = await h.call({ method: 'GET', url: '/v1/tasks', auth: k.auth });
    expect(list.statusCode, list.body).to.equal(200);
    expect(list.json().items.map((t: { id: string }) => t.id)).to.deep.equal([id]);
    expect(h.logs.join('')).to.include('counting in this process');

    await proxy.up();
  });

  it('answers from SQL when Redis hangs (connections open, no replies) instead of waiting forever', async () => {
    const k = await h.key('operator', 'acme');
    const post = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'y' } }] } });
    const id = post.json().id as string;
    expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.auth })).statusCode).to.equal(200);
    // Past the previous test's bypass window, so this request meets the hung Redis itself.
    await new Promise((r) => setTimeout(r, CACHE_SKIP_MS + 100));

    proxy.freeze();
    const one = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.auth });
    expect(one.statusCode, one.body).to.equal(200);
    expect(one.json()).to.include({ id });
    await proxy.up();
  });
});
