import { expect } from 'chai';
import { join } from 'node:path';
import { McpGateway } from '../../src/mcp/gateway';
import { MemoryCache } from '../../src/cache/memory';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { PAYLOAD_HASH_SCHEME } from '../../src/erasure/salted-hash';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { MAX_STORED_PAYLOAD_CHARS } from '../../src/mcp/audit';
import { resultCacheKey } from '../../src/mcp/result-cache';
import { openTempSqliteStore } from '../mcp/support/stores';
import { until } from '../mcp/support/until';

const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };

/**
 * The result cache of read-only, idempotent tools under MCP_PAYLOAD_POLICY=encrypted (MCP_CACHE_TTL_MS
 * set): the arguments' recorded hash is salted, a fresh salt each call, so two calls with the same
 * arguments record different hashes. The cache must still key on the arguments themselves (their
 * plain digest, as before 2026-12-11), or no call would ever be answered from it.
 */
describe('MCP gateway: the result cache under salted payload hashes', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let serverId: string;
  const cache = new MemoryCache();

  before(async () => {
    db = await openTempSqliteStore();
    const keys = new MemorySubjectKeyStore();
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'encrypted', subjectKeys: keys, cache, cacheTtlMs: 60_000, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    serverId = (await gateway.registerServer({ ...ctx, name: 'deep', transport: 'stdio', command: process.execPath, args: [join(__dirname, '..', 'mcp', 'support', 'deep-upstream.cjs')] })).id;
  });

  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  it('a second call with the same arguments is answered from the cache, though each call records its own salted argumentsHash', async () => {
    const args = { n: 0, as: 'result', who: 'alice@example.com' };
    await gateway.callTool(ctx, 'deep__deep', args);
    await until('the result is cached', async () => (await cache.get(resultCacheKey('acme', serverId, 'deep', payloadDigest(args).hash))) !== undefined);
    await gateway.callTool(ctx, 'deep__deep', args);
    const calls = await db.store.readAll({ limit: 10_000, streamPrefix: 'toolcall-' });
    const requested = calls.filter((e) => e.type === 'ToolCallRequested');
    const completed = calls.filter((e) => e.type === 'ToolCallCompleted');
    expect(requested.map((e) => [e.version, (e.data as { argumentsHashScheme?: string }).argumentsHashScheme])).to.deep.equal([
      [3, PAYLOAD_HASH_SCHEME],
      [3, PAYLOAD_HASH_SCHEME],
    ]);
    const [a, b] = requested.map((e) => (e.data as { argumentsHash: string }).argumentsHash);
    expect(a).to.not.equal(b);
    expect(completed.map((e) => (e.data as { cached: boolean }).cached)).to.deep.equal([false, true]);
  });

  it('arguments over 256 KiB (their salt alone sealed, ToolCallRequested v4) are cached on their plain digest too, which the log never holds', async () => {
    const args = { n: 0, as: 'result', who: `carol@example.com ${'y'.repeat(MAX_STORED_PAYLOAD_CHARS)}` };
    const head = await db.store.headPosition();
    await gateway.callTool(ctx, 'deep__deep', args);
    await until('the result is cached', async () => (await cache.get(resultCacheKey('acme', serverId, 'deep', payloadDigest(args).hash))) !== undefined);
    await gateway.callTool(ctx, 'deep__deep', args);
    const calls = await db.store.readAll({ after: head, limit: 10_000, streamPrefix: 'toolcall-' });
    expect(calls.filter((e) => e.type === 'ToolCallRequested').map((e) => e.version)).to.deep.equal([4, 4]);
    expect(calls.filter((e) => e.type === 'ToolCallCompleted').map((e) => (e.data as { cached: boolean }).cached)).to.deep.equal([false, true]);
    expect(JSON.stringify(calls)).to.not.contain(payloadDigest(args).hash.slice(2));
  });
});
