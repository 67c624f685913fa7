/**
 * The gateway's result cache of read-only idempotent tools as configured: MCP_CACHE_TTL_MS, and no
 * result kept under MCP_PAYLOAD_POLICY=hash-only unless the operator sets a lifetime (createGateway
 * from configuration, the example server's `count` tool over streamable HTTP; the in-memory cache
 * and Redis).
 */
import { expect } from 'chai';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createGateway } from '../../src/app/gateway';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { loadConfig } from '../../src/config';
import type { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { resultCacheKey } from '../../src/mcp/result-cache';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { useRedisTestCache } from '../support/redis-test-cache';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };

describe('MCP result cache: MCP_CACHE_TTL_MS, and no result kept under MCP_PAYLOAD_POLICY=hash-only (createGateway from configuration)', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let remote: HttpExample;
  let gateway: McpGateway | undefined;
  let warnings: string[];
  let n = 0;

  before(async () => {
    db = await openTempSqliteStore();
    remote = await startHttpExample({ testTools: true });
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });
  after(async () => {
    await remote?.close();
    await db?.cleanup();
  });

  /**
   * A gateway built from `env` over `cache` calls `count` twice with the same arguments, on an
   * upstream session of its own (so the upstream counts from 0): the answers, whether the audit
   * says each came from the cache, the cache key and the secret the result holds.
   */
  async function countTwice(env: Record<string, string>, cache: Cache): Promise<{ texts: string[]; cached: unknown[]; key: string; secret: string }> {
    warnings = [];
    const logger = { warn: (_obj: unknown, msg?: string) => void warnings.push(String(msg)) };
    gateway = await createGateway({ config: loadConfig({ DATA_DIR: db.dir, ...env }), store: db.store, cache, logger });
    const server = await gateway.registerServer({ tenant: 'acme', actor, name: `counter-${++n}`, transport: 'http', url: remote.url });
    const secret = `kilo-secret-${n}`;
    const head = await db.store.headPosition();
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r: CallToolResult = await gateway.callTool({ tenant: 'acme', actor }, `${server.name}__count`, { key: secret });
      texts.push((r.content[0] as { text: string }).text);
    }
    const done = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.type === 'ToolCallCompleted');
    return { texts, cached: done.map((e) => e.data.cached), key: resultCacheKey('acme', server.id, 'count', payloadDigest({ key: secret }).hash), secret };
  }

  describe('in memory (the embedded default)', () => {
    it('by default (MCP_PAYLOAD_POLICY=store) keeps the result: the second call is answered from the cache', async () => {
      const cache = new MemoryCache();
      const { texts, cached, key, secret } = await countTwice({}, cache);
      expect(texts).to.deep.equal([`${secret}:1`, `${secret}:1`]);
      expect(cached).to.deep.equal([false, true]);
      expect(await cache.get(key)).to.contain(secret);
    });

    it('MCP_CACHE_TTL_MS=0: nothing is cached, every call reaches the upstream', async () => {
      const cache = new MemoryCache();
      const { texts, cached, key } = await countTwice({ MCP_CACHE_TTL_MS: '0' }, cache);
      expect(texts.map((t) => t.split(':')[1])).to.deep.equal(['1', '2']);
      expect(cached).to.deep.equal([false, false]);
      expect(await cache.get(key)).to.equal(undefined);
    });

    it('MCP_PAYLOAD_POLICY=hash-only: the result is not kept in the cache (it is off unless MCP_CACHE_TTL_MS is set)', async () => {
      const cache = new MemoryCache();
      const { texts, cached, key } = await countTwice({ MCP_PAYLOAD_POLICY: 'hash-only' }, cache);
      expect(texts.map((t) => t.split(':')[1])).to.deep.equal(['1', '2']);
      expect(cached).to.deep.equal([false, false]);
      expect(await cache.get(key)).to.equal(undefined);
      expect(warnings.join('\n')).to.not.contain('MCP_CACHE_TTL_MS');
    });

    it('MCP_PAYLOAD_POLICY=hash-only with MCP_CACHE_TTL_MS set: the operator chose to keep results that long; said at start', async () => {
      const cache = new MemoryCache();
      const { texts, cached, key, secret } = await countTwice({ MCP_PAYLOAD_POLICY: 'hash-only', MCP_CACHE_TTL_MS: '60000' }, cache);
      expect(texts).to.deep.equal([`${secret}:1`, `${secret}:1`]);
      expect(cached).to.deep.equal([false, true]);
      expect(await cache.get(key)).to.contain(secret);
      expect(warnings.join('\n')).to.match(/MCP_PAYLOAD_POLICY=hash-only with MCP_CACHE_TTL_MS=60000/);
    });
  });

  describe('in Redis (REDIS_URL)', () => {
    const r = useRedisTestCache('omc_mcp_cache', async () => {
      await gateway?.close();
      gateway = undefined;
    });
    it('by default (MCP_PAYLOAD_POLICY=store) keeps a result for 5 s (Redis PTTL)', async () => {
      const { cached, key, secret } = await countTwice({}, r.cache);
      expect(cached).to.deep.equal([false, true]);
      expect(await r.redis.get(r.prefix + key)).to.contain(secret);
      expect(await r.redis.pttl(r.prefix + key)).to.be.within(1, 5_000);
    });

    it('MCP_PAYLOAD_POLICY=hash-only: no key holds the result, and there is no result entry', async () => {
      const { texts, cached, key, secret } = await countTwice({ MCP_PAYLOAD_POLICY: 'hash-only' }, r.cache);
      expect(texts.map((t) => t.split(':')[1])).to.deep.equal(['1', '2']);
      expect(cached).to.deep.equal([false, false]);
      const all = await r.everything();
      expect(Object.keys(all).filter((k) => k.includes('mcp:result:'))).to.deep.equal([]);
      expect(JSON.stringify(all)).to.not.contain(secret);
      expect(await r.redis.exists(r.prefix + key)).to.equal(0);
    });

    it('MCP_PAYLOAD_POLICY=hash-only with MCP_CACHE_TTL_MS set: cached that long; said at start', async () => {
      const { cached, key, secret } = await countTwice({ MCP_PAYLOAD_POLICY: 'hash-only', MCP_CACHE_TTL_MS: '60000' }, r.cache);
      expect(cached).to.deep.equal([false, true]);
      expect(await r.redis.get(r.prefix + key)).to.contain(secret);
      expect(await r.redis.pttl(r.prefix + key)).to.be.within(1, 60_000);
      expect(warnings.join('\n')).to.match(/MCP_PAYLOAD_POLICY=hash-only with MCP_CACHE_TTL_MS=60000: .*\(cache: redis\)/);
    });
  });
});
