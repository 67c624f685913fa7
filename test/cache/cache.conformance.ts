import { expect } from 'chai';
import type { Cache } from '../../src/cache/port';

export type CacheFixture = { cache: Cache; close(): Promise<void> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `key` reads as nothing (its TTL ran out), at most `ms`: as long as the TTL, not a fixed pause well past it. */
async function expired(cache: Cache, key: string, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; (await cache.get(key)) !== undefined; await sleep(25)) {
    if (Date.now() > end) throw new Error(`${key} still there ${ms} ms on`);
  }
}

/**
 * Whether `counts` (in any order) are what `n` hits in one window give, 1..n, or, should a window
 * boundary fall among them, 1..k and 1..n-k.
 */
function oneWindowOrTwo(counts: number[], n: number): boolean {
  const sorted = JSON.stringify([...counts].sort((x, y) => x - y));
  const upTo = (m: number) => Array.from({ length: m }, (_, i) => i + 1);
  return Array.from({ length: n + 1 }, (_, k) => JSON.stringify([...upTo(k), ...upTo(n - k)].sort((x, y) => x - y))).includes(sorted);
}

/**
 * What every adapter of the Cache port must do (the lease operations have their own suite in
 * test/leader). TTLs are short but with wide margins (a value is read back well inside its TTL, and its expiry
 * asserted well after it), so a loaded machine's pauses do not decide the outcome: a value read
 * back after a few round trips lives 1 s (400 ms was a thin margin for three Redis commands).
 */
export function describeCache(name: string, open: (ctx: Mocha.Context) => Promise<CacheFixture>): void {
  describe(`Cache port conformance: ${name}`, function () {
    let f: CacheFixture;
    let cache: Cache;
    beforeEach(async function () {
      f = await open(this);
      cache = f.cache;
    });
    afterEach(async () => f?.close());

    describe('get / set / del', () => {
      it('reads what was set, undefined for a key never set, and nothing after del', async () => {
        expect(await cache.get('a')).to.equal(undefined);
        await cache.set('a', 'one');
        await cache.set('b', '');
        expect(await cache.get('a')).to.equal('one');
        expect(await cache.get('b'), 'an empty string is a value').to.equal('');
        await cache.set('a', 'two');
        expect(await cache.get('a')).to.equal('two');
        await cache.del('a', 'b', 'never-set');
        expect(await cache.get('a')).to.equal(undefined);
        expect(await cache.get('b')).to.equal(undefined);
        await cache.del();
      });

      it('keeps any UTF-8 text intact', async () => {
        const text = JSON.stringify({ s: 'é€𝄞 \u0000 "quoted"\n', n: [1, 2] });
        await cache.set('u', text);
        expect(await cache.get('u')).to.equal(text);
      });

      it('forgets a value after its TTL, and a set without TTL replaces one with a TTL', async () => {
        // k's first TTL ends before t's: once t is gone, k would be too had the plain set kept it.
        await cache.set('k', 'kept', 1_000);
        await cache.set('t', 'short', 1_000);
        await cache.set('k', 'kept');
        expect(await cache.get('t')).to.equal('short');
        await expired(cache, 't');
        expect(await cache.get('k')).to.equal('kept');
      });
    });

    describe('setIfAbsent', () => {
      it('writes only a key that holds nothing, and says whether it wrote', async () => {
        expect(await cache.setIfAbsent('n', 'first')).to.equal(true);
        expect(await cache.setIfAbsent('n', 'second')).to.equal(false);
        expect(await cache.get('n')).to.equal('first');
      });

      it('writes again once the value expired, with the TTL given', async () => {
        expect(await cache.setIfAbsent('n', 'first', 80)).to.equal(true);
        await sleep(250);
        expect(await cache.setIfAbsent('n', 'second', 1_000)).to.equal(true);
        expect(await cache.get('n')).to.equal('second');
        await expired(cache, 'n'); // the TTL applies to the value written
      });

      it('lets exactly one of many concurrent writers win', async () => {
        const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.setIfAbsent('race', `w${i}`, 10_000)));
        expect(wins.filter(Boolean)).to.have.length(1);
        expect(await cache.get('race')).to.equal(`w${wins.indexOf(true)}`);
      });
    });

    describe('expire', () => {
      it('is false for a missing key and creates nothing', async () => {
        expect(await cache.expire('missing', 10_000)).to.equal(false);
        expect(await cache.get('missing')).to.equal(undefined);
      });

      it('extends a value past its old TTL, leaving the value as it is', async () => {
        // f, set after e with the same TTL, shows when e's old TTL is over.
        await cache.set('e', 'value', 1_000);
        await cache.set('f', 'gauge', 1_000);
        expect(await cache.expire('e', 10_000)).to.equal(true);
        await expired(cache, 'f');
        expect(await cache.get('e')).to.equal('value');
      });

      it('gives a value without TTL one, and shortens a long one', async () => {
        await cache.set('p', 'forever');
        await cache.set('l', 'long', 60_000);
        expect(await cache.expire('p', 80)).to.equal(true);
        expect(await cache.expire('l', 80)).to.equal(true);
        await sleep(250);
        expect(await cache.get('p')).to.equal(undefined);
        expect(await cache.get('l')).to.equal(undefined);
      });

      it('is false once the value expired', async () => {
        await cache.set('x', 'v', 80);
        await sleep(250);
        expect(await cache.expire('x', 10_000)).to.equal(false);
        expect(await cache.get('x')).to.equal(undefined);
      });
    });

    describe('hit (fixed-window counters)', () => {
      it('counts per key within a window and reports the time left in it', async () => {
        const windowMs = 60_000;
        const a = [];
        for (let i = 0; i < 5; i++) a.push(await cache.hit('rl', windowMs));
        const b = await cache.hit('other', windowMs);
        const counts = a.map((x) => x.count);
        expect(oneWindowOrTwo(counts, 5), `counts ${counts}`).to.equal(true);
        expect(counts.slice(1).every((c, i) => c === counts[i] + 1 || c === 1), `in order: ${counts}`).to.equal(true);
        expect(b.count).to.equal(1);
        for (const x of [...a, b]) expect(x.resetMs).to.be.within(0, windowMs);
      });

      it('reports the time left in the window, not a whole window from the first hit (Retry-After)', async () => {
        const windowMs = 2_000;
        // Late in a window, the first hit's counter resets soon: the fixed window ends, whenever it was first hit.
        while (Date.now() % windowMs < windowMs / 2) await sleep(10);
        const before = Date.now();
        const r = await cache.hit('late', windowMs);
        const after = Date.now();
        const sameWindow = Math.floor(before / windowMs) === Math.floor(after / windowMs);
        if (sameWindow) expect(r.resetMs, 'ms to the end of the window').to.be.within(windowMs - (after % windowMs), windowMs - (before % windowMs));
      });

      it('starts again at 1 in the next window', async () => {
        const windowMs = 200;
        await cache.hit('w', windowMs);
        await cache.hit('w', windowMs);
        await sleep(windowMs + 150);
        expect((await cache.hit('w', windowMs)).count).to.equal(1);
      });

      it('counts concurrent hits exactly', async () => {
        const windowMs = 600_000;
        const results = await Promise.all(Array.from({ length: 50 }, () => cache.hit('burst', windowMs)));
        const counts = results.map((r) => r.count);
        expect(oneWindowOrTwo(counts, 50), `counts ${counts}`).to.equal(true);
      });
    });

    describe('acquireLock / releaseLock', () => {
      it('is held by one owner at a time; the holder can take it again; release only by the holder', async () => {
        expect(await cache.acquireLock('l', 'a', 10_000)).to.equal(true);
        expect(await cache.acquireLock('l', 'b', 10_000)).to.equal(false);
        expect(await cache.acquireLock('l', 'a', 10_000), 'renewal by the holder').to.equal(true);
        await cache.releaseLock('l', 'b');
        expect(await cache.acquireLock('l', 'b', 10_000), 'a stranger cannot release it').to.equal(false);
        await cache.releaseLock('l', 'a');
        expect(await cache.acquireLock('l', 'b', 10_000)).to.equal(true);
      });

      it('frees itself after its TTL', async () => {
        expect(await cache.acquireLock('l', 'a', 80)).to.equal(true);
        await sleep(250);
        expect(await cache.acquireLock('l', 'b', 10_000)).to.equal(true);
      });

      it('goes to exactly one of many concurrent takers', async () => {
        const got = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.acquireLock('contended', `o${i}`, 10_000)));
        expect(got.filter(Boolean)).to.have.length(1);
      });
    });

    it('answers ping', async () => {
      await cache.ping();
    });
  });
}
