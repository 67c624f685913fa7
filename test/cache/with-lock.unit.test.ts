import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { withLock } from '../../src/cache/with-lock';
import { FlakyCache } from '../support/flaky-cache';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  it('renews the lock while fn runs past its TTL: no other owner takes it meanwhile', async () => {
    const cache = new MemoryCache();
    let stolen = false;
    // The lock lapses, rightly, if this process stalls for longer than the TTL less a renewal
    // period (a GC pause, or no CPU on a loaded machine): a TTL of 120 ms (80 ms of slack) did
    // under load. 1 s leaves 666 ms, and fn still runs two TTLs (without renewals the lock lapses in one).
    await withLock(cache, 'k', 'slow', { ...o, ttlMs: 1_000 }, async (lock) => {
      for (let t = 0; t < 50; t++) {
        if (await cache.acquireLock('k', 'other', 1_000)) stolen = true;
        await sleep(40);
      }
      await lock.check();
    });
    expect(stolen, 'taken by another owner while fn ran (2 s, TTL 1 s)').to.equal(false);
    expect(await cache.acquireLock('k', 'other', 1_000), 'released after').to.equal(true);
  });

  it("a failed release does not replace fn's result: the lock is left to expire", async () => {
    const cache = new FlakyCache(new MemoryCache());
    cache.fail('releaseLock', /^k$/);
    const warned: unknown[] = [];
    const out = await withLock(cache, 'k', 'a', { ...o, ttlMs: 100, logger: { warn: (x) => void warned.push(x) } }, async () => 'sent');
    expect(out).to.equal('sent');
    expect(cache.failed).to.deep.equal(['releaseLock k']);
    expect(warned).to.have.length(1);
    await sleep(150);
    expect(await cache.acquireLock('k', 'b', 1_000), 'expired').to.equal(true);
  });

  it('check() passes through a short cache blip, and throws lost() once another owner may have had the lock', async () => {
    const lost = () => new Error('lost');
    const inner = new MemoryCache();
    const cache = new FlakyCache(inner);
    // A TTL of 1 s: the first check must come within half of it of taking the lock, however slow
    // the machine (200 ms left 100 ms).
    await withLock(cache, 'k', 'a', { ...o, ttlMs: 1_000, lost }, async (lock) => {
      cache.fail('acquireLock', /^k$/, 1);
      await lock.check(); // one renewal fails, the last good one is recent: still ours
      cache.fail('acquireLock', /^k$/, 1_000); // cut off from the cache past the TTL
      await sleep(1_100);
      expect(await inner.acquireLock('k', 'b', 1_000), 'lapsed: another owner takes it').to.equal(true);
      expect(await lock.check().catch((e: Error) => e.message)).to.equal('lost');
    });
    expect(await inner.acquireLock('k', 'c', 1_000), "the other owner's lock is not released").to.equal(false);
  });

  it('a lock that lapsed stays lost even if no one took it and it is renewed again', async () => {
    const cache = new FlakyCache(new MemoryCache());
    await withLock(cache, 'k', 'a', { ...o, ttlMs: 150, lost: () => new Error('lost') }, async (lock) => {
      cache.fail('acquireLock', /^k$/, 1_000);
      await sleep(250);
      cache.heal();
      expect(await lock.check().catch((e: Error) => e.message)).to.equal('lost');
    });
  });

  it('a renewal that reaches the cache only after the lock lapsed is lost, though it was sent in time and another owner had the lock in between', async () => {
    /** Holds owner a's next lock command back until `open()` (a slow network between the two). */
    class SlowLink extends MemoryCache {
      private gate?: Promise<void>;
      waiting = false;
      /** Lock commands of owner a the cache has answered. */
      answered = 0;
      open: () => void = () => {};
      holdNext(): void {
        this.gate = new Promise<void>((r) => (this.open = r));
      }
      override async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
        const g = owner === 'a' ? this.gate : undefined;
        if (g) {
          this.gate = undefined;
          this.waiting = true;
          await g;
        }
        const ok = await super.acquireLock(key, owner, ttlMs);
        if (owner === 'a') this.answered++;
        return ok;
      }
    }
    const cache = new SlowLink();
    const err = await withLock(cache, 'k', 'a', { ...o, ttlMs: 300, lost: () => new Error('lost') }, async (lock) => {
      cache.holdNext();
      while (!cache.waiting) await sleep(5); // a renewal was sent, and is on its way
      while (!(await cache.acquireLock('k', 'b', 10_000))) await sleep(5); // meanwhile the lock lapsed: b has it
      await cache.releaseLock('k', 'b');
      const answered = cache.answered;
      cache.open(); // the renewal arrives now and takes the free lock again
      // And the next renewal renews it, unless the lock was seen lost (renewals stop then).
      for (let i = 0; i < 100 && cache.answered < answered + 2; i++) await sleep(5);
      await lock.check();
    }).catch((e: Error) => e.message);
    expect(err, 'b held the lock while a thought it was its own').to.equal('lost');
  });
});
