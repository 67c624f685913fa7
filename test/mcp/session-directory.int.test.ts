import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import type { Cache } from '../../src/cache/port';
import { openRedisCache } from '../../src/cache/redis';
import { endSession, loadLogLevel, loadSession, saveLogLevel, saveSession, touchSession, type SessionRecord } from '../../src/mcp/session-directory';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';

const record: SessionRecord = {
  tenant: 'acme',
  actor: { kind: 'user', id: 'alice' },
  protocolVersion: '2025-06-18',
  clientInfo: { name: 'test', version: '1' },
  capabilities: {},
  createdAt: '2026-12-05T00:00:00.000Z',
};
const TTL = 60_000;
const OPS = ['get', 'set', 'del', 'setIfAbsent', 'expire'] as const;

/** `cache` with `after(n)` run once its n-th key operation (get, set, del, setIfAbsent, expire; from 0) has answered. */
function interleaved(cache: Cache, after: (n: number) => Promise<void>): Cache {
  let n = 0;
  return new Proxy(cache, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!(OPS as readonly (string | symbol)[]).includes(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await after(n++);
        return result;
      };
    },
  });
}

const setups: { name: string; open(ctx: Mocha.Context): Promise<{ cache: Cache; close(): Promise<void> }> }[] = [
  {
    name: 'Redis',
    async open(ctx) {
      await requireService(ctx, 'Redis', redisAvailable);
      const p = redisTestPrefix('omc_sessions');
      const cache = await openRedisCache(REDIS_TEST_URL, p.prefix);
      return { cache, close: async () => (await cache.close(), await p.drop()) };
    },
  },
  { name: 'in-memory', open: async () => ({ cache: new MemoryCache(), close: async () => {} }) },
];

for (const s of setups) {
  describe(`mcp session directory: renewal never undoes a DELETE (${s.name})`, function () {
    let cache: Cache;
    let close = async () => {};
    beforeEach(async function () {
      ({ cache, close } = await s.open(this));
    });
    afterEach(() => close());

    it('renews a live entry and reports an ended one', async () => {
      await saveSession(cache, 's1', record, 200);
      expect(await touchSession(cache, 's1', record, TTL)).to.equal(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(await loadSession(cache, 's1'), 'renewed past its first TTL').to.deep.equal(record);
      await endSession(cache, 's1', TTL);
      expect(await touchSession(cache, 's1', record, TTL)).to.equal(false);
      expect(await loadSession(cache, 's1')).to.equal(undefined);
    });

    it('keeps the log level beside the record, renewed with it and dropped when the session ends', async () => {
      await saveSession(cache, 's3', record, TTL);
      expect(await loadLogLevel(cache, 's3'), 'none set').to.equal(undefined);
      // A first TTL of 1 s: the renewal just after must land inside it, however slow the machine
      // (200 ms was three cache round trips' margin under load; an expired level is not written back).
      await saveLogLevel(cache, 's3', 'warning', 1_000);
      expect(await loadLogLevel(cache, 's3')).to.equal('warning');
      expect(await touchSession(cache, 's3', record, TTL)).to.equal(true);
      await new Promise((r) => setTimeout(r, 1_300));
      expect(await loadLogLevel(cache, 's3'), 'renewed past its first TTL').to.equal('warning');
      expect(await loadSession(cache, 's3'), 'the record as it was').to.deep.equal(record);
      await endSession(cache, 's3', TTL);
      expect(await loadLogLevel(cache, 's3')).to.equal(undefined);
      // Something else in its place (not a level) reads as none set.
      await cache.set('mcp-session:s4:log-level', 'loud');
      expect(await loadLogLevel(cache, 's4')).to.equal(undefined);
    });

    for (const lost of [false, true]) {
      for (let step = 0; step < 4; step++) {
        it(`a DELETE landing after step ${step} of a renewal stays in force${lost ? ' (entry evicted before)' : ''}`, async () => {
          await saveSession(cache, 's2', record, TTL);
          if (lost) await cache.del('mcp-session:s2');
          let ended = false;
          const racing = interleaved(cache, async (n) => {
            if (n !== step) return;
            await endSession(cache, 's2', TTL);
            ended = true;
          });
          const alive = await touchSession(racing, 's2', record, TTL);
          if (!ended) await endSession(cache, 's2', TTL); // the renewal had fewer steps: DELETE after it
          expect(await loadSession(cache, 's2'), 'the session stays ended for every replica').to.equal(undefined);
          expect(await touchSession(cache, 's2', record, TTL), 'and the next renewal sees it').to.equal(false);
          if (!alive) expect(ended, 'ended only when the DELETE came first').to.equal(true);
        });
      }
    }
  });
}
