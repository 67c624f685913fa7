import { expect } from 'chai';
import fc from 'fast-check';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { skipWhileDown } from '../../src/cache/skip-while-down';
import { createWindowCounter, WINDOW_MS, type WindowCounter } from '../../src/auth/window-counter';

/** The counter before it lost its per-call closure (an async try/await/catch), the reference. */
function referenceWindowCounter(cache: Cache, onCacheError?: (err: unknown) => void): WindowCounter {
  const shared = skipWhileDown(cache, { onError: onCacheError });
  const local = new MemoryCache(10_000);
  return async (keys) => {
    const hits = (c: Cache) => Promise.all(keys.map((k) => c.hit(k, WINDOW_MS)));
    try {
      return await hits(shared);
    } catch {
      return hits(local);
    }
  };
}

/** One request: its keys, which of their shared hits fail (and how), and the time passed before it. */
type Call = { keys: string[]; fail: Array<'no' | 'reject' | 'throw'>; advanceMs: number };
const callArb: fc.Arbitrary<Call> = fc.record({
  keys: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 2 }),
  fail: fc.array(fc.constantFrom<'no' | 'reject' | 'throw'>('no', 'no', 'reject', 'throw'), { minLength: 2, maxLength: 2 }),
  advanceMs: fc.constantFrom(0, 1000, 6000),
});

/** The answers of a counter over `calls` (shared cache failing as told), and how often onCacheError was told. */
async function trace(make: typeof createWindowCounter, calls: Call[]): Promise<unknown[]> {
  const realNow = Date.now;
  let now = 1_000_000_000;
  Date.now = () => now;
  try {
    const out: unknown[] = [];
    const memory = new MemoryCache(1000);
    let fail: Call['fail'] = [];
    let i = 0;
    const shared = {
      name: 'shared',
      hit(key: string, windowMs: number) {
        const how = fail[i++ % fail.length];
        if (how === 'throw') throw new Error('thrown');
        if (how === 'reject') return Promise.reject(new Error('rejected'));
        return memory.hit(key, windowMs);
      },
    } as unknown as Cache;
    let told = 0;
    const count = make(shared, () => told++);
    for (const c of calls) {
      now += c.advanceMs;
      fail = c.fail;
      i = 0;
      out.push(await count(c.keys).then((r) => r, (e: Error) => `error ${e.message}`));
    }
    out.push({ told });
    return out;
  } finally {
    Date.now = realNow;
  }
}

describe('createWindowCounter: the shared counters, or this process\'s only when they fail, as the async reference did', () => {
  it('over random requests, shared hits succeeding, rejecting or throwing, and time passing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { maxLength: 12 }), async (calls) => {
        expect(await trace(createWindowCounter, calls)).to.deep.equal(await trace(referenceWindowCounter, calls));
      }),
      { numRuns: 100 },
    );
  });
});
