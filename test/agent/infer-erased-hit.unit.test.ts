import { expect } from 'chai';
import { infer, responseCacheKey } from '../../src/agent/llm/infer';
import type { Completion, CompletionRequest, LlmClient } from '../../src/agent/llm/port';
import { MemoryCache } from '../../src/cache/memory';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';

/**
 * infer's hit on an answer cached for a turn salted under a subject's data key (InferenceCompleted
 * v8): served while the key store says that key lives, a miss once it is erased (or the store cannot
 * say), so a task of the same tenant is never told `cached: true` of an erased subject's prompt.
 */
describe('infer: a cached answer whose data key is erased is a miss', () => {
  const req: CompletionRequest = { model: 'm', messages: [{ role: 'user', content: 'the capital of France?' }], tools: [], temperature: 0, maxTokens: 100 };
  let asked: number;
  const llm: LlmClient = {
    provider: 'test',
    model: 'm',
    complete: async (): Promise<Completion> => {
      asked++;
      return { message: { role: 'assistant', content: `Paris (${asked})` }, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, model: 'm-1' };
    },
  };
  const deps = (cache: MemoryCache, subjectKeys?: SubjectKeyStore) => ({ llm, tenant: 'acme', cache, cacheTtlMs: 60_000, subjectKeys });

  beforeEach(() => {
    asked = 0;
  });

  it("keeps the key's id beside the answer a miss caches, and serves it while the key lives", async () => {
    const cache = new MemoryCache();
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor('acme:user:alice');
    const first = await infer(deps(cache, keys), req, { kid });
    expect(first.cached).to.equal(false);
    // The completion's fields stay where an earlier release reads them (a worker not yet upgraded takes the entry as a Completion; `kid` is one more field it ignores).
    expect(JSON.parse((await cache.get(responseCacheKey('acme', 'm', first.promptHash)))!)).to.deep.equal({ ...first.completion, kid });
    const again = await infer(deps(cache, keys), req);
    expect(again).to.deep.include({ cached: true, completion: first.completion });
    expect(again.completion, "the key's id is not part of the answer").not.to.have.property('kid');
    expect(asked).to.equal(1);
  });

  it('asks the model once the key is erased, and caches the new answer under the new turn\'s key', async () => {
    const cache = new MemoryCache();
    const keys = new MemorySubjectKeyStore();
    const alice = await keys.keyFor('acme:user:alice');
    const bob = await keys.keyFor('acme:user:bob');
    const first = await infer(deps(cache, keys), req, { kid: alice.kid });
    await keys.erase('acme:user:alice');
    const next = await infer(deps(cache, keys), req, { kid: bob.kid });
    expect(next.cached).to.equal(false);
    expect(next.completion.message.content).to.equal('Paris (2)');
    expect(asked).to.equal(2);
    expect(JSON.parse((await cache.get(responseCacheKey('acme', 'm', first.promptHash)))!)).to.include({ kid: bob.kid });
  });

  it('asks the model when the key store cannot say (a miss, not an answer served for an erased subject)', async () => {
    const cache = new MemoryCache();
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor('acme:user:alice');
    await infer(deps(cache, keys), req, { kid });
    const failing: SubjectKeyStore = { ...keys, keyFor: (s) => keys.keyFor(s), keyById: () => Promise.reject(new Error('database down')), erase: (s) => keys.erase(s), keysOf: (s) => keys.keysOf(s) };
    expect((await infer(deps(cache, failing), req)).cached).to.equal(false);
    expect(asked).to.equal(2);
  });

  it('asks the model when the answer names a key and there is no key store to ask (a miss)', async () => {
    const cache = new MemoryCache();
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor('acme:user:alice');
    await infer(deps(cache, keys), req, { kid });
    expect((await infer(deps(cache), req)).cached).to.equal(false);
    expect(asked).to.equal(2);
  });

  it('serves an entry naming no key (no subject key, or an earlier release) as before, without reading the key store', async () => {
    const cache = new MemoryCache();
    const keys = new MemorySubjectKeyStore();
    let reads = 0;
    const counted: SubjectKeyStore = { ...keys, keyFor: (s) => keys.keyFor(s), keyById: (k) => (reads++, keys.keyById(k)), isErased: (k) => (reads++, keys.keyById(k).then((x) => x === undefined)), erase: (s) => keys.erase(s), keysOf: (s) => keys.keysOf(s) };
    await infer(deps(cache, counted), req);
    expect((await infer(deps(cache, counted), req)).cached).to.equal(true);
    expect(asked).to.equal(1);
    expect(reads, 'an unsalted answer costs no key store read').to.equal(0);
  });
});
