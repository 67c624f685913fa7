import { expect } from 'chai';
import { catalog } from '../../events';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { responseCacheKey, saltedPromptCacheKey } from '../../src/agent/llm/infer';
import { parsePolicy } from '../../src/agent/policy';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { MemoryCheckpointStore } from '../../src/checkpoints/memory-checkpoint-store';
import type { RecordedEvent } from '../../src/core/envelope';
import { UnavailableError } from '../../src/core/errors';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import type { McpGateway } from '../../src/mcp/gateway';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import type { Harness } from '../api/support/harness';
import { ended, ofType, waitForTask } from '../agent/support/agent-fixture';
import { until } from '../mcp/support/until';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { useRedisTestCache } from '../support/redis-test-cache';
import { openRedisCache } from '../../src/cache/redis';
import { createTestDatabase, mysqlAvailable, REDIS_TEST_URL, requireService } from '../support/services';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
/** The worker's configured model (LLM_MODEL), the response cache's key, and the one the provider names in its answer (the event's `model`). */
const MODEL = 'm';
const PROVIDER_MODEL = 'm-2026-12-01';

type Turn = { promptHash: string; promptHashScheme?: string; cached: boolean; model: string };

/**
 * Under MCP_PAYLOAD_POLICY=encrypted and LLM_REDACTION=hash-only with LLM_CACHE_TTL_MS set, a turn's
 * answer is in the LLM response cache (outside the log) under the plain SHA-256 of its prompt, and
 * `llm:prompt:<tenant>:<salted hash>` names that entry from the salted promptHash the log records.
 * Erasing the submitter's key (DELETE /v1/subjects/:subject/key) removes both, in the cache every
 * process shares (Redis) or the embedded default's own (memory): after it, no cache key confirms a
 * guessed prompt of the subject's, nothing ties one to its turns, and a task of the same tenant
 * sending the same prompt is not answered from the cache (`cached: true` would tell its submitter
 * that the prompt was sent). The provider answers under a dated name of the model (`model` in the
 * event), not the configured one the cache keys by.
 */
describe("erasing a subject's key removes its turns from the LLM response cache", function () {
  this.timeout(60_000);
  let fake: OpenAiFake;
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let runtime: AgentRuntime | undefined;
  let keys: MemorySubjectKeyStore;

  before(async () => {
    fake = await startOpenAiFake();
  });
  after(() => fake.close());
  afterEach(async () => {
    await runtime?.kill();
    runtime = undefined;
    await close?.();
  });

  /** The API (its own projector and read models) and one agent worker on `cache`; `workerCache` when the worker's process has another client of it. */
  async function start(cache: Cache, workerCache: Cache = cache, databaseUrl?: string): Promise<void> {
    keys = new MemorySubjectKeyStore();
    ({ h, gw, close } = await makeGatewayHarness({ subjectKeys: keys, sealTaskInputs: true, cache }, 5_000, { payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0 }, databaseUrl ? { databaseUrl } : {}));
    fake.setScript(() => ({ content: 'the capital is Paris', model: PROVIDER_MODEL }));
    runtime = new AgentRuntime(
      {
        store: h.store,
        catalog,
        tools: gw,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: MODEL, maxRetries: 0 }),
        cache: workerCache,
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: [] } }] }),
        privateKey: KEY,
        subjectKeys: keys,
      },
      { worker: 'worker-e', model: MODEL, stepTimeoutMs: 20_000, leaseMs: 1_000, redaction: 'hash-only', llmCacheTtlMs: 60_000 },
      new MemoryCheckpointStore(),
    );
    await runtime.start();
  }

  /** A task of the key's subject, run to its end; its one turn. */
  async function ask(submitter: { auth: string }): Promise<{ id: string; turn: Turn; events: RecordedEvent[] }> {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload: { instruction: 'What is the capital of the country of Jeanne Dupont, born 1961-04-02?' } });
    expect(res.statusCode, res.body).to.equal(202);
    const id = res.json().id as string;
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const [turn] = ofType(events, 'InferenceCompleted');
    expect(turn.version).to.equal(8);
    return { id, turn: turn.data as Turn, events };
  }

  async function applied(): Promise<void> {
    const head = await h.store.headPosition();
    await until('the read models applied every event', async () => (await h.knex('rm_audit_events').where('position', head)).length === 1);
  }

  const erase = (admin: { auth: string }, who: { id: string }) => h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:user:${who.id}`)}/key`, auth: admin.auth });

  /** The answer's entry the pointer names (and the pointer's own), read as the worker wrote them. */
  async function entriesOf(cache: Cache, turn: Turn): Promise<{ pointer?: string; answer?: string }> {
    const pointer = await cache.get(saltedPromptCacheKey('acme', turn.promptHash));
    const plain = pointer === undefined ? undefined : (JSON.parse(pointer) as { promptHash: string; model: string });
    return { pointer, answer: plain && (await cache.get(responseCacheKey('acme', plain.model, plain.promptHash))) };
  }

  /** The whole scenario on `apiCache` (the API's) and `workerCache` (the worker's client of the same cache). */
  async function scenario(apiCache: Cache, workerCache: Cache, cacheKeys: () => Promise<string[]>, databaseUrl?: string): Promise<void> {
    await start(apiCache, workerCache, databaseUrl);
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const bob = await h.key('operator', 'acme');
    const first = await ask(alice);
    expect(first.turn).to.include({ promptHashScheme: 'hmac-sha256-salted-v1', cached: false, model: PROVIDER_MODEL });
    const before = await entriesOf(apiCache, first.turn);
    expect(before.answer, 'the turn is cached, its pointer names it').to.contain('the capital is Paris');
    // Without the erasure the same prompt from another submitter of the tenant is answered from the cache.
    expect((await ask(bob)).turn.cached, 'the same prompt is a cache hit while alice lives').to.equal(true);
    const asked = fake.requests.length;
    await applied();

    const res = await erase(admin, alice);
    expect(res.statusCode, res.body).to.equal(204);
    expect(await entriesOf(apiCache, first.turn), 'neither the pointer nor the answer').to.deep.equal({ pointer: undefined, answer: undefined });
    expect((await cacheKeys()).filter((k) => k.includes(first.turn.promptHash.slice(2))), 'no key names her turn').to.deep.equal([]);
    const again = await ask(bob);
    expect(again.turn.cached, 'the same prompt after the erasure is asked of the model').to.equal(false);
    expect(fake.requests.length - asked).to.equal(1);
  }

  it('in the embedded default (one process, its in-memory cache)', async () => {
    const cache = new MemoryCache();
    await scenario(cache, cache, async () => [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()]);
  });

  it('on MariaDB (the subject index read along its index there)', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_erase_cache');
    try {
      const cache = new MemoryCache();
      await scenario(cache, cache, async () => [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()], db.url);
    } finally {
      // Before its database goes: the worker, then the API.
      await runtime?.kill();
      runtime = undefined;
      await close?.();
      close = async () => {};
      await db.drop();
    }
  });

  describe('in Redis (REDIS_URL): the API process erases, the worker runs elsewhere on the same Redis', () => {
    const r = useRedisTestCache('omc_erase_cache');

    it('removes the pointer and the answer the worker wrote', async () => {
      // The worker's own connection, under the API's prefix: another process on the same Redis.
      const workerCache = await openRedisCache(REDIS_TEST_URL, r.prefix);
      try {
        await scenario(r.cache, workerCache, async () => Object.keys(await r.everything()));
      } finally {
        await workerCache.close();
      }
    });
  });

  it('a cache that fails to clear: 503 DEPENDENCY_UNAVAILABLE saying so, a warning in the log, the key erased and recorded all the same; the same request again clears it', async () => {
    const inner = new MemoryCache();
    let failDel = true;
    const flaky = new Proxy(inner, {
      get: (t, p) => (p === 'del' ? (...k: string[]) => (failDel ? Promise.reject(new UnavailableError('redis', 'down')) : t.del(...k)) : Reflect.get(t, p, t)),
    }) as Cache;
    await start(flaky, inner);
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const { turn } = await ask(alice);
    await applied();
    const res = await erase(admin, alice);
    expect(res.statusCode, res.body).to.equal(503);
    expect(res.json()).to.include({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect(res.json().detail).to.match(/erased.*LLM response cache/);
    expect(h.logs.join('\n')).to.match(/"level":40.*LLM response cache/);
    const [k] = await keys.keysOf(`acme:user:${alice.id}`);
    expect(k.erasedAt, 'the key is erased').to.be.a('string');
    expect((await entriesOf(inner, turn)).answer).to.contain('Paris');
    failDel = false;
    expect((await erase(admin, alice)).statusCode).to.equal(204);
    expect(await entriesOf(inner, turn)).to.deep.equal({ pointer: undefined, answer: undefined });
    expect((await h.store.readStream(`subject-${k.kid}`)).map((e) => e.type)).to.deep.equal(['SubjectKeyErased']);
  });

  it('a turn of a lagging Kafka partition (a later position applied before it): 503, not a 204 that leaves it cached; the same request again, once it is applied, takes it out', async () => {
    const cache = new MemoryCache();
    await start(cache);
    // As main.ts builds them: the applied prefix counted where positions are gap-free (the SQL store).
    h.deps.readModels = new SqlReadModels({ knex: h.knex, gapFreePositions: true });
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const { turn, events } = await ask(alice);
    await applied();
    // Her turn's partition held up: its audit and index rows not there yet, while the erasure's own event (another stream) is applied.
    const [held] = ofType(events, 'InferenceCompleted');
    const audit = await h.knex('rm_audit_events').where('position', held.position);
    const index = await h.knex('rm_subject_events').where('position', held.position);
    expect(index, 'the turn is indexed under her key').to.have.length.above(0);
    await h.knex('rm_audit_events').where('position', held.position).del();
    await h.knex('rm_subject_events').where('position', held.position).del();
    const res = await erase(admin, alice);
    expect(res.statusCode, res.body).to.equal(503);
    expect(res.json().detail).to.match(/read models had not applied the log up to position \d+/);
    expect((await entriesOf(cache, turn)).answer, 'not found: still cached').to.contain('Paris');
    // The partition catches up: the same DELETE finishes the job.
    await h.knex('rm_audit_events').insert(audit);
    await h.knex('rm_subject_events').insert(index);
    const again = await erase(admin, alice);
    expect(again.statusCode, again.body).to.equal(204);
    expect(await entriesOf(cache, turn)).to.deep.equal({ pointer: undefined, answer: undefined });
  });

  it('read models behind the log at the erasure: what they hold is taken out, and the answer is 503 saying turns recorded just before may not be found yet', async () => {
    const cache = new MemoryCache();
    await start(cache);
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const { turn } = await ask(alice);
    await applied();
    // Paged along the subject index: her task's sealed input first (no turn), then her turn, then the end.
    const kids = (await keys.keysOf(`acme:user:${alice.id}`)).map((k) => k.kid);
    const pages = [];
    let after: number | undefined;
    do {
      const page = await h.deps.readModels.listSealedTurns!('acme', kids, { after, limit: 1 });
      pages.push(page.turns.map((t) => [t.promptHash, t.salted]));
      after = page.next;
    } while (after !== undefined);
    expect(pages).to.deep.equal([[], [[turn.promptHash, true]], []]);
    h.deps.readModels.waitForPosition = async () => false;
    const res = await erase(admin, alice);
    expect(res.statusCode, res.body).to.equal(503);
    expect(res.json().detail).to.match(/read models had not applied the log up to position \d+/);
    expect(await entriesOf(cache, turn), 'those indexed are taken out all the same').to.deep.equal({ pointer: undefined, answer: undefined });
  });
});
