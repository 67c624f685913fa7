import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { withLock } from '../../src/cache/with-lock';

describe('withLock: run holding a cache lock', () => {
  const o = { ttlMs: 5_000, pollMs: 5, waitMs: 60, busy: () => new Error('busy') };

  it('runs one holder at a time, waits for the lock, and releases it when fn throws', async () => {
    const cache = new MemoryCache();
    const order: string[] = [];
    const slow = withLock(cache, 'k', 'a', { ...o, waitMs: 1_000 }, async () => {
      order.push('a in');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a out');
    });
    const next = withLock(cache, 'k', 'b', { ...o, waitMs: 1_000 }, async () => void order.push('b'));
    await Promise.all([slow, next]);
    expect(order).to.deep.equal(['a in', 'a out', 'b']);
    await withLock(cache, 'k', 'c', o, async () => {
      throw new Error('boom');
    }).catch(() => {});
    expect(await cache.acquireLock('k', 'd', 1_000), 'released after a throw').to.equal(true);
  });

  it('gives up with the busy error when another holder keeps the lock', async () => {
    const cache = new MemoryCache();
    await cache.acquireLock('k', 'other', 5_000);
    let ran = false;
    const err = await withLock(cache, 'k', 'me', o, async () => void (ran = true)).catch((e: Error) => e);
    expect((err as Error).message).to.equal('busy');
    expect(ran).to.equal(false);
  });
});
