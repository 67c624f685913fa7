import { expect } from 'chai';
import { forgetCachedTurns } from '../../src/auth/forget-cached-turns';
import { rememberSaltedPrompt, responseCacheKey, saltedPromptCacheKey } from '../../src/agent/llm/infer';
import { MemoryCache } from '../../src/cache/memory';
import type { SealedTurn, SealedTurnsPage } from '../../src/readmodels/sealed-turns';

const hex = (n: number, d: string) => `0x${d.repeat(63)}${n.toString(16)}`;

describe('forgetCachedTurns: the turns sealed under a subject\'s keys, out of the LLM response cache', () => {
  it('pages through the subject index to its end (a page of only tool calls too), takes out each salted turn\'s pointer and the answer it names, and leaves plain (v7) turns and other entries alone', async () => {
    const cache = new MemoryCache();
    const deps = { tenant: 'acme', cache, cacheTtlMs: 60_000 };
    const salted: SealedTurn[] = [];
    for (let n = 0; n < 5; n++) {
      const t = { position: n * 10, promptHash: hex(n, 'a'), salted: true };
      salted.push(t);
      await cache.set(responseCacheKey('acme', 'm', hex(n, 'b')), `answer ${n}`);
      await rememberSaltedPrompt(deps, { model: 'm', temperature: 0 }, hex(n, 'b'), t.promptHash);
    }
    await cache.set(responseCacheKey('acme', 'm', hex(9, 'c')), 'a plain turn of v7');
    await cache.set(responseCacheKey('acme', 'm', hex(8, 'b')), 'another prompt');
    // Pages as the index gives them: two turns, none (the subject's tool calls), a v7 turn and two, the last one.
    const pages: SealedTurnsPage[] = [
      { turns: salted.slice(0, 2), next: 15 },
      { turns: [], next: 25 },
      { turns: [{ position: 26, promptHash: hex(9, 'c'), salted: false }, ...salted.slice(2, 4)], next: 35 },
      { turns: salted.slice(4) },
    ];
    const asked: (number | undefined)[] = [];
    const out = await forgetCachedTurns(
      {
        cache,
        async listSealedTurns(tenant, kids, page) {
          expect([tenant, kids]).to.deep.equal(['acme', ['k1', 'k2']]);
          asked.push(page.after);
          return pages[asked.length - 1];
        },
      },
      'acme',
      ['k1', 'k2'],
    );
    expect(asked).to.deep.equal([undefined, 15, 25, 35]);
    expect(out).to.deep.equal({ turns: 5, removed: 10 });
    for (let n = 0; n < 5; n++) {
      expect(await cache.get(saltedPromptCacheKey('acme', hex(n, 'a')))).to.equal(undefined);
      expect(await cache.get(responseCacheKey('acme', 'm', hex(n, 'b')))).to.equal(undefined);
    }
    expect(await cache.get(responseCacheKey('acme', 'm', hex(9, 'c')))).to.equal('a plain turn of v7');
    expect(await cache.get(responseCacheKey('acme', 'm', hex(8, 'b')))).to.equal('another prompt');
    // Idempotent: nothing left to take out.
    asked.length = 0;
    expect(await forgetCachedTurns({ cache, listSealedTurns: async () => pages[asked.push(undefined) - 1] }, 'acme', ['k1', 'k2'])).to.deep.equal({ turns: 5, removed: 0 });
  });
});
