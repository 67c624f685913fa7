import { expect } from 'chai';
import { forgetTurnIfErased } from '../../src/agent/llm/forget-turn-if-erased';
import { forgetSaltedPrompts } from '../../src/cache/llm-response-keys';
import { responseCacheKey, saltedPromptCacheKey } from '../../src/cache/llm-response-keys';
import { MemoryCache } from '../../src/cache/memory';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';

describe('forgetTurnIfErased', () => {
  const subject = 'acme:user:alice';
  const promptHash = `0x${'ab'.repeat(32)}`;
  const saltedHash = `0x${'cd'.repeat(32)}`;
  const pointer = saltedPromptCacheKey('acme', saltedHash);
  const answer = responseCacheKey('acme', 'm', promptHash);

  async function cached(): Promise<MemoryCache> {
    const cache = new MemoryCache();
    await cache.set(pointer, JSON.stringify({ model: 'm', promptHash }));
    await cache.set(answer, '{"message":{"role":"assistant","content":"Paris"}}');
    return cache;
  }
  const left = async (cache: MemoryCache) => [await cache.get(pointer), await cache.get(answer)].filter((v) => v !== undefined).length;

  it('keeps the entries of a turn whose key lives', async () => {
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor(subject);
    const cache = await cached();
    expect(await forgetTurnIfErased({ tenant: 'acme', cache, subjectKeys: keys }, { kid, model: 'm', promptHash, saltedHash })).to.equal('kept');
    expect(await left(cache)).to.equal(2);
  });

  it('takes out the pointer and the answer of a turn whose key is erased', async () => {
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor(subject);
    await keys.erase(subject);
    const cache = await cached();
    expect(await forgetTurnIfErased({ tenant: 'acme', cache, subjectKeys: keys }, { kid, model: 'm', promptHash, saltedHash })).to.equal('removed');
    expect(await left(cache)).to.equal(0);
  });

  it('takes them out when the key store cannot say (a later miss, not an answer kept for an erased subject)', async () => {
    const keys = new MemorySubjectKeyStore();
    const { kid } = await keys.keyFor(subject);
    const failing: SubjectKeyStore = { ...keys, keyFor: (s) => keys.keyFor(s), erase: (s) => keys.erase(s), keysOf: (s) => keys.keysOf(s), keyById: () => Promise.reject(new Error('database down')) };
    const cache = await cached();
    expect(await forgetTurnIfErased({ tenant: 'acme', cache, subjectKeys: failing }, { kid, model: 'm', promptHash, saltedHash })).to.equal('removed');
    expect(await left(cache)).to.equal(0);
  });

  it('forgetSaltedPrompts (a resumed run of an erased subject): the pointer and the answer it names; a pointer gone takes nothing else', async () => {
    const cache = await cached();
    expect(await forgetSaltedPrompts(cache, 'acme', [saltedHash, saltedHash, `0x${'ef'.repeat(32)}`])).to.equal(2);
    expect(await left(cache)).to.equal(0);
    expect(await forgetSaltedPrompts(cache, 'acme', [saltedHash]), 'idempotent').to.equal(0);
  });
});
