import { expect } from 'chai';
import { catalog } from '../../events';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { openRedisCache } from '../../src/cache/redis';
import { MemoryCheckpointStore } from '../../src/checkpoints/memory-checkpoint-store';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { SqlSubjectKeyStore } from '../../src/erasure/sql-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';
import { OpenMcpError, UnavailableError } from '../../src/core/errors';
import { createEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import type { McpGateway } from '../../src/mcp/gateway';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import type { Harness } from '../api/support/harness';
import { ended, ofType, waitForTask } from '../agent/support/agent-fixture';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { useRedisTestCache } from '../support/redis-test-cache';
import { until } from '../mcp/support/until';
import { createTestDatabase, mysqlAvailable, REDIS_TEST_URL, requireService } from '../support/services';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const INSTRUCTION = 'What is the capital of the country of Jeanne Dupont, born 1961-04-02?';

/**
 * The worker's store with a gate before the next InferenceCompleted append: the turn's answer and
 * the pointer naming it are in the cache by then (infer, rememberSaltedPrompt), its event not yet
 * in the log. `reached` resolves there; the append goes on at `release()` (or, with `refused`, is
 * refused with that error, nothing recorded; with `before`, that runs first: another worker's append).
 */
function gatedStore(store: EventStore): { store: EventStore; arm(o?: { lostAfter?: boolean; refused?: Error; before?: () => Promise<void> }): { reached: Promise<void>; release(): void } } {
  let gate: { reach(): void; released: Promise<void>; lostAfter?: boolean; refused?: Error; before?: () => Promise<void> } | undefined;
  const gated = new Proxy(store, {
    get(t, p) {
      if (p !== 'append') return Reflect.get(t, p, t);
      return async (...args: Parameters<EventStore['append']>) => {
        const g = gate;
        if (g && args[1].some((e) => e.type === 'InferenceCompleted')) {
          gate = undefined;
          g.reach();
          await g.released;
          await g.before?.();
          if (g.refused) throw g.refused;
          // Recorded, but the worker never learns it (its connection lost after the commit, or the
          // process gone): it does not get to its own check, and a later run resumes the task.
          if (g.lostAfter) {
            await t.append(...args);
            throw new UnavailableError('event store', 'connection lost after the append');
          }
        }
        return t.append(...args);
      };
    },
  });
  return {
    store: gated,
    arm(o = {}) {
      let reach!: () => void;
      let release!: () => void;
      const reached = new Promise<void>((r) => (reach = r));
      const released = new Promise<void>((r) => (release = r));
      gate = { reach, released, ...o };
      return { reached, release };
    },
  };
}

/**
 * The race of an erasure with a turn in flight (MCP_PAYLOAD_POLICY=encrypted, LLM_REDACTION=hash-only,
 * LLM_CACHE_TTL_MS set): the worker read the submitter's key before the erasure, the model answered,
 * the answer and its pointer went into the LLM response cache, and the turn is recorded after the
 * erasure read the log (so the subject index it reads does not hold it). The worker, once the turn
 * is recorded, reads the key's state from the store and takes the entries out itself: after the
 * DELETE and that turn, no `llm:` key is left, and a task of the same tenant sending the same prompt
 * is asked of the model. Driven by a gate on the worker's append, no sleeps.
 */
describe('an erasure racing a turn in flight leaves none of its entries in the LLM response cache', function () {
  this.timeout(60_000);
  let fake: OpenAiFake;
  let h: Harness;
  let gw: McpGateway;
  let close: (() => Promise<void>) | undefined;
  let runtime: AgentRuntime | undefined;
  let keys: SubjectKeyStore;
  let gate: ReturnType<typeof gatedStore>;
  let warnings: string[] = [];
  let infos: string[] = [];

  before(async () => {
    fake = await startOpenAiFake();
  });
  after(() => fake.close());
  afterEach(async () => {
    await runtime?.kill();
    runtime = undefined;
    await close?.();
    close = undefined;
  });

  /** The API on `cache`, one worker on `workerCache` with `workerKeys` (another process: its own key cache). */
  async function start(cache: Cache, workerCache: Cache, workerKeys: (keys: SubjectKeyStore) => SubjectKeyStore, databaseUrl?: string): Promise<void> {
    // On a database, its subject_keys table (SqlSubjectKeyStore, made on the harness's knex once it exists).
    let inner: SubjectKeyStore | undefined = databaseUrl ? undefined : new MemorySubjectKeyStore();
    const of = () => inner ?? expect.fail('the key store is made with the harness');
    keys = { keyFor: (s) => of().keyFor(s), keyById: (k) => of().keyById(k), erase: (s) => of().erase(s), keysOf: (s) => of().keysOf(s) };
    warnings = [];
    infos = [];
    ({ h, gw, close } = await makeGatewayHarness({ subjectKeys: keys, sealTaskInputs: true, cache }, 5_000, { payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0 }, databaseUrl ? { databaseUrl } : {}));
    inner ??= new SqlSubjectKeyStore(h.knex);
    fake.setScript(() => ({ content: 'the capital is Paris', model: 'm-2026-12-01' }));
    gate = gatedStore(h.store);
    runtime = new AgentRuntime(
      {
        store: gate.store,
        catalog,
        tools: gw,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: workerCache,
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: [] } }] }),
        privateKey: KEY,
        subjectKeys: workerKeys(keys),
        logger: { warn: (obj: unknown, msg?: string) => void warnings.push(`${msg} ${String((obj as { err?: unknown }).err)} ${JSON.stringify(obj)}`), info: (obj: unknown, msg?: string) => void infos.push(`${msg} ${JSON.stringify(obj)}`) },
      },
      // A lease far longer than the test: the gate holding the turn never costs the worker its task.
      { worker: 'worker-r', model: 'm', stepTimeoutMs: 20_000, leaseMs: 60_000, redaction: 'hash-only', llmCacheTtlMs: 60_000 },
      new MemoryCheckpointStore(),
    );
    await runtime.start();
  }

  const post = async (submitter: { auth: string }): Promise<string> => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload: { instruction: INSTRUCTION } });
    expect(res.statusCode, res.body).to.equal(202);
    return res.json().id as string;
  };

  /** The task's one turn, once it ended completed. */
  async function turnOf(id: string): Promise<{ cached: boolean; promptHash: string; promptHashScheme?: string }> {
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const [turn] = ofType(events, 'InferenceCompleted');
    expect(turn.version).to.equal(8);
    return turn.data as { cached: boolean; promptHash: string; promptHashScheme?: string };
  }

  const erase = (admin: { auth: string }, who: { id: string }) => h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:user:${who.id}`)}/key`, auth: admin.auth });

  /**
   * Alice's task (`hit`: her second, answered from the cache her first filled) held at its turn's
   * append, her key erased meanwhile (204: the index holds nothing of that turn), then let go.
   */
  async function race(cacheKeys: () => Promise<string[]>, o: { hit: boolean }): Promise<void> {
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const bob = await h.key('operator', 'acme');
    if (o.hit) expect((await turnOf(await post(alice))).cached, 'her first task fills the cache').to.equal(false);
    const held = gate.arm();
    const id = await post(alice);
    await held.reached;
    expect((await cacheKeys()).filter((k) => k.startsWith('llm:')), 'the answer and the pointer naming it are cached before the turn is recorded').to.have.length(o.hit ? 3 : 2);
    const res = await erase(admin, alice);
    expect(res.statusCode, res.body).to.equal(204);
    held.release();
    const turn = await turnOf(id);
    expect(turn).to.include({ cached: o.hit, promptHashScheme: 'hmac-sha256-salted-v1' });
    expect((await cacheKeys()).filter((k) => k.startsWith('llm:')), "no entry of the erased subject's turns is left").to.deep.equal([]);
    const asked = fake.requests.length;
    expect((await turnOf(await post(bob))).cached, 'the same prompt after the erasure is asked of the model').to.equal(false);
    expect(fake.requests.length - asked).to.equal(1);
  }

  /**
   * Alice's turn held at its append with its answer and pointer cached, her key erased meanwhile,
   * and Bob (same tenant) sending the very same prompt before her worker gets to its check: the
   * answer cached for her turn is not served to him (the key it was cached under is erased), the
   * model is asked. Then her worker takes her entries out.
   */
  async function sameTenantInTheRace(cacheKeys: () => Promise<string[]>): Promise<void> {
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const bob = await h.key('operator', 'acme');
    const held = gate.arm();
    const id = await post(alice);
    await held.reached;
    try {
      expect((await erase(admin, alice)).statusCode).to.equal(204);
      const asked = fake.requests.length;
      expect((await turnOf(await post(bob))).cached, "the answer cached for the erased subject's turn is not served").to.equal(false);
      expect(fake.requests.length - asked, 'the model is asked').to.equal(1);
    } finally {
      held.release();
    }
    const hers = await turnOf(id);
    expect(hers.cached).to.equal(false);
    expect(await cacheKeys(), 'her pointer is gone').not.to.include(`llm:prompt:acme:${hers.promptHash}`);
  }

  /**
   * Alice's turn, its answer and pointer cached, whose append is refused for good (`refused`: the
   * store's refusal; or the task ended meanwhile, `cancel`): nothing records the turn, so no
   * erasure could find its entries. They are taken out at once: none is left, and after her
   * erasure the same prompt of another user of the tenant is asked of the model.
   */
  async function refusedTurn(cacheKeys: () => Promise<string[]>, how: { refused: Error } | { cancel: true }): Promise<void> {
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const bob = await h.key('operator', 'acme');
    const held = gate.arm('refused' in how ? { refused: how.refused } : {});
    const id = await post(alice);
    await held.reached;
    try {
      expect((await cacheKeys()).filter((k) => k.startsWith('llm:')), 'the answer and the pointer naming it are cached before the turn is recorded').to.have.length(2);
      if ('cancel' in how) expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: alice.auth })).statusCode).to.be.oneOf([200, 202]);
    } finally {
      held.release();
    }
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'InferenceCompleted'), 'the turn is not recorded').to.have.length(0);
    if ('refused' in how) expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal([(how.refused as OpenMcpError).code]);
    else expect(ofType(events, 'TaskCancelled')).to.have.length(1);
    await runtime!.stop();
    expect((await cacheKeys()).filter((k) => k.startsWith('llm:')), 'no entry of the unrecorded turn is left').to.deep.equal([]);
    expect((await erase(admin, alice)).statusCode).to.equal(204);
    await runtime!.start();
    const asked = fake.requests.length;
    expect((await turnOf(await post(bob))).cached, 'the same prompt after her erasure is asked of the model').to.equal(false);
    expect(fake.requests.length - asked).to.equal(1);
  }

  const tooLarge = () => new OpenMcpError('EVENT_TOO_LARGE', "kurrentdb: append: over the server's MaxAppendSize of 1024 bytes", { status: 413 });

  const memoryKeys = (cache: MemoryCache) => async () => [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()];

  it('in the embedded default (one process, its in-memory cache and key store): a miss the worker cached', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    await race(memoryKeys(cache), { hit: false });
  });

  it('in the embedded default: a hit, whose pointer the worker wrote for the turn it served', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    await race(memoryKeys(cache), { hit: true });
  });

  it('on MariaDB (its log, subject index and subject_keys; the worker with its own key cache): a miss', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_erase_race');
    try {
      const cache = new MemoryCache();
      await start(cache, cache, (k) => cachedSubjectKeys(k, { ttlMs: 3_600_000 }), db.url);
      await race(memoryKeys(cache), { hit: false });
    } finally {
      // Before its database goes: the worker, then the API.
      await runtime?.kill();
      runtime = undefined;
      await close?.();
      close = undefined;
      await db.drop();
    }
  });

  for (const [name, run] of [
    ["a same-tenant task sending the same prompt before her worker's check (the hit read against subject_keys)", (keys: () => Promise<string[]>) => sameTenantInTheRace(keys)],
    ['a turn whose append the store refuses', (keys: () => Promise<string[]>) => refusedTurn(keys, { refused: tooLarge() })],
  ] as const) {
    it(`on MariaDB, the worker with its own key cache: ${name}`, async function () {
      await requireService(this, 'MariaDB', mysqlAvailable);
      const db = await createTestDatabase('omc_erase_race');
      try {
        const cache = new MemoryCache();
        await start(cache, cache, (k) => cachedSubjectKeys(k, { ttlMs: 3_600_000 }), db.url);
        await run(memoryKeys(cache));
      } finally {
        await runtime?.kill();
        runtime = undefined;
        await close?.();
        close = undefined;
        await db.drop();
      }
    });
  }

  it('a turn whose append the store refuses, on a worker whose cache fails to delete: the task fails with the refusal all the same, and a warning names the task', async () => {
    const cache = new MemoryCache();
    const noDel = new Proxy(cache, { get: (t, p) => (p === 'del' ? () => Promise.reject(new Error('cache down')) : Reflect.get(t, p, t)) }) as Cache;
    await start(cache, noDel, (k) => k);
    const alice = await h.key('operator', 'acme');
    const held = gate.arm({ refused: tooLarge() });
    const id = await post(alice);
    await held.reached;
    held.release();
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(['EVENT_TOO_LARGE']);
    expect(warnings.join('\n')).to.match(/a turn not recorded, whose answer could not be taken out of the LLM response cache.*cache down/).and.include(id);
    expect((await memoryKeys(cache)()).filter((k) => k.startsWith('llm:')), 'left to expire').to.have.length(2);
  });

  it("a turn answered from the cache whose append the store refuses, on a worker whose cache fails to delete: the warning names the pointer (the answer is another turn's), not the answer", async () => {
    const cache = new MemoryCache();
    let failDel = false;
    const flaky = new Proxy(cache, { get: (t, p) => (p === 'del' && failDel ? () => Promise.reject(new Error('cache down')) : Reflect.get(t, p, t)) }) as Cache;
    await start(cache, flaky, (k) => k);
    const alice = await h.key('operator', 'acme');
    expect((await turnOf(await post(alice))).cached).to.equal(false);
    failDel = true;
    const held = gate.arm({ refused: tooLarge() });
    const id = await post(alice);
    await held.reached;
    held.release();
    await waitForTask(h.store, id, ended);
    const said = warnings.filter((w) => /a turn not recorded/.test(w)).join('\n');
    expect(said).to.match(/its pointer could not be taken out of the LLM response cache.*cache down/).and.include(id);
    expect(said).not.to.match(/whose answer could not/);
  });

  it('a turn whose append fails for a moment (DEPENDENCY_UNAVAILABLE, nothing recorded): its entries are kept, and the run that resumes the task is answered from the cache, the model asked once', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    const alice = await h.key('operator', 'acme');
    const asked = fake.requests.length;
    const held = gate.arm({ refused: new UnavailableError('event store', 'connection refused') });
    const id = await post(alice);
    await held.reached;
    held.release();
    expect(await turnOf(id), 'recorded by the run that resumed the task').to.include({ cached: true });
    expect(fake.requests.length - asked).to.equal(1);
    // The answer, the entry naming it for the recorded turn, and the first attempt's, which nothing names (docs/security.md: left to expire).
    expect((await memoryKeys(cache)()).filter((k) => k.startsWith('llm:'))).to.have.length(3);
  });

  it("a turn not recorded because another worker took the task over meanwhile: its pointer goes, but not the answer the run that took over asks for (the same prompt), still cached for it", async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    const alice = await h.key('operator', 'acme');
    let stream = '';
    // Worker B's new term, appended while A's turn waits at its append: A's append conflicts, and A finds the task taken over.
    const held = gate.arm({
      before: async () => {
        const events = await h.store.readStream(stream);
        const term = Math.max(...ofType(events, 'TaskLeased').map((e) => (e.data as { term: number }).term)) + 1;
        const leased = createEvent({ type: 'TaskLeased', stream, tenant: 'acme', actor: { kind: 'system', id: 'worker-b' }, data: catalog.validate('TaskLeased', 1, { worker: 'worker-b', term, leaseUntil: new Date(Date.now() + 60_000).toISOString() }) });
        await h.store.append(stream, [leased]);
      },
    });
    const id = await post(alice);
    stream = `task-${id}`;
    await held.reached;
    const before = (await memoryKeys(cache)()).filter((k) => k.startsWith('llm:'));
    const answer = before.find((k) => k.startsWith('llm:response:'));
    expect(answer, 'the answer is cached').to.be.a('string');
    held.release();
    await until('A has dealt with its unrecorded turn', () => infos.some((l) => /a turn not recorded/.test(l)));
    expect(infos.filter((l) => /a turn not recorded/.test(l)).join('\n')).to.include('"reason":"taken-over"');
    const after = (await memoryKeys(cache)()).filter((k) => k.startsWith('llm:'));
    expect(after, "A's pointer, which no event names, is gone").to.deep.equal([answer]);
    expect(ofType(await h.store.readStream(stream), 'InferenceCompleted'), "A's turn is not recorded").to.have.length(0);
  });

  it('a turn answered from the cache whose append the store refuses: its pointer goes, but not the answer another task recorded its turn with', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    const alice = await h.key('operator', 'acme');
    const bob = await h.key('operator', 'acme');
    const bobs = await turnOf(await post(bob));
    expect(bobs.cached).to.equal(false);
    const held = gate.arm({ refused: tooLarge() });
    const id = await post(alice);
    await held.reached;
    held.release();
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(['EVENT_TOO_LARGE']);
    const left = (await memoryKeys(cache)()).filter((k) => k.startsWith('llm:'));
    expect(left, "Bob's pointer and the answer his recorded turn names are kept; Alice's pointer is gone").to.have.members([`llm:prompt:acme:${bobs.promptHash}`, left.find((k) => k.startsWith('llm:response:'))]);
    expect(left).to.have.length(2);
  });

  it("a worker whose cache fails to delete the entries: the task completes all the same, and a warning names the task (they expire with LLM_CACHE_TTL_MS)", async () => {
    const cache = new MemoryCache();
    const noDel = new Proxy(cache, { get: (t, p) => (p === 'del' ? () => Promise.reject(new Error('cache down')) : Reflect.get(t, p, t)) }) as Cache;
    await start(cache, noDel, (k) => k);
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const held = gate.arm();
    const id = await post(alice);
    await held.reached;
    expect((await erase(admin, alice)).statusCode).to.equal(204);
    held.release();
    expect((await turnOf(id)).cached).to.equal(false);
    expect(warnings.join('\n')).to.match(/could not be taken out of the LLM response cache.*cache down/).and.include(id);
    expect((await memoryKeys(cache)()).filter((k) => k.startsWith('llm:')), 'left to expire').to.have.length(2);
  });

  it('a worker that recorded the turn but never got to its check (the append lost after its commit): the run that resumes the task takes the entries out as it fails it TASK_INPUT_ERASED', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    const admin = await h.key('admin', 'acme');
    const alice = await h.key('operator', 'acme');
    const held = gate.arm({ lostAfter: true });
    const id = await post(alice);
    await held.reached;
    expect((await erase(admin, alice)).statusCode).to.equal(204);
    held.release();
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'InferenceCompleted'), 'the turn was recorded').to.have.length(1);
    expect(ofType(events, 'TaskFailed').map((e) => (e.data as { error: { code: string } }).error.code)).to.deep.equal(['TASK_INPUT_ERASED']);
    expect((await memoryKeys(cache)()).filter((k) => k.startsWith('llm:')), "no entry of the erased subject's turn is left").to.deep.equal([]);
  });

  it('in the embedded default: a same-tenant task sending the same prompt between the erasure and her worker\'s check is not answered from her entry', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    await sameTenantInTheRace(memoryKeys(cache));
  });

  it('in the embedded default: a turn whose append the store refuses (EVENT_TOO_LARGE) leaves no entry, and the task fails with that error', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    await refusedTurn(memoryKeys(cache), { refused: tooLarge() });
  });

  it('in the embedded default: a turn not recorded because its task was cancelled meanwhile leaves no entry', async () => {
    const cache = new MemoryCache();
    await start(cache, cache, (k) => k);
    await refusedTurn(memoryKeys(cache), { cancel: true });
  });

  describe('in Redis (REDIS_URL): the worker in another process, its key cache still holding the erased key', () => {
    const r = useRedisTestCache('omc_erase_race');

    for (const hit of [false, true]) {
      it(hit ? 'a hit' : 'a miss', async () => {
        const workerCache = await openRedisCache(REDIS_TEST_URL, r.prefix);
        try {
          // Its key cache never expires here: only a read of the store itself learns of the erasure.
          await start(r.cache, workerCache, (k) => cachedSubjectKeys(k, { ttlMs: 3_600_000 }));
          await race(async () => Object.keys(await r.everything()).map((k) => k.slice(r.prefix.length)), { hit });
        } finally {
          await runtime?.kill();
          runtime = undefined;
          await workerCache.close();
        }
      });
    }

    for (const [name, run] of [
      ['a same-tenant task sending the same prompt before her worker\'s check', (keys: () => Promise<string[]>) => sameTenantInTheRace(keys)],
      ['a turn whose append the store refuses', (keys: () => Promise<string[]>) => refusedTurn(keys, { refused: tooLarge() })],
    ] as const) {
      it(name, async () => {
        const workerCache = await openRedisCache(REDIS_TEST_URL, r.prefix);
        try {
          await start(r.cache, workerCache, (k) => cachedSubjectKeys(k, { ttlMs: 3_600_000 }));
          await run(async () => Object.keys(await r.everything()).map((k) => k.slice(r.prefix.length)));
        } finally {
          await runtime?.kill();
          runtime = undefined;
          await workerCache.close();
        }
      });
    }
  });
});
