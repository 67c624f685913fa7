import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { SqlSubjectKeyStore } from '../../src/erasure/sql-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

/** The SubjectKeyStore contract, run against each adapter. `stores(n)`: n stores on one database (n processes). */
function contract(name: string, open: () => Promise<{ stores(n: number): Promise<SubjectKeyStore[]>; close(): Promise<void> }>, requires?: (ctx: Mocha.Context) => Promise<void>) {
  describe(`subject key store: ${name}`, function () {
    this.timeout(30_000);
    let env: Awaited<ReturnType<typeof open>>;
    let s: SubjectKeyStore;
    let t = 0;
    const subject = () => `acme:user:u${++t}-${Date.now()}`;

    before(async function () {
      if (requires) await requires(this);
      env = await open();
      [s] = await env.stores(1);
    });
    after(async () => env?.close());

    it('makes a key on first use and gives the same one after; keyById reads it', async () => {
      const id = subject();
      const k = await s.keyFor(id);
      expect(k.key).to.have.length(32);
      const again = await s.keyFor(id);
      expect(again.kid).to.equal(k.kid);
      expect(again.key.equals(k.key)).to.equal(true);
      expect((await s.keyById(k.kid))!.equals(k.key)).to.equal(true);
      expect((await s.keyFor(subject())).kid).to.not.equal(k.kid);
    });

    it('stores creating one subject key at once end with one key', async () => {
      const id = subject();
      const many = await env.stores(4);
      const keys = await Promise.all([...many, ...many].map((x) => x.keyFor(id)));
      expect(new Set(keys.map((k) => k.kid)).size).to.equal(1);
      expect(new Set(keys.map((k) => k.key.toString('hex'))).size).to.equal(1);
    });

    it('erases for good and idempotently; an unknown subject is not known; a later use makes a new key', async () => {
      const id = subject();
      const k = await s.keyFor(id);
      expect(await s.erase(id)).to.deep.equal({ erased: [k.kid], before: [], known: true });
      expect(await s.keyById(k.kid)).to.equal(undefined);
      // A repeat names the key erased before (its erasure may still need recording).
      expect(await s.erase(id)).to.deep.equal({ erased: [], before: [k.kid], known: true });
      expect(await s.erase(subject())).to.deep.equal({ erased: [], before: [], known: false });
      const next = await s.keyFor(id);
      expect(next.kid).to.not.equal(k.kid);
      expect(await s.keyById(k.kid)).to.equal(undefined);
      expect(await s.erase(id)).to.deep.equal({ erased: [next.kid], before: [k.kid], known: true });
    });

    it("keysOf lists a subject's keys, oldest first, with when each was made and erased, never the key itself; none for an unknown subject", async () => {
      const id = subject();
      expect(await s.keysOf(id)).to.deep.equal([]);
      const k = await s.keyFor(id);
      const [live] = await s.keysOf(id);
      expect(live).to.have.all.keys('kid', 'createdAt');
      expect(live.kid).to.equal(k.kid);
      expect(new Date(live.createdAt).toISOString()).to.equal(live.createdAt);
      await s.erase(id);
      const next = await s.keyFor(id);
      const both = await s.keysOf(id);
      expect(both.map((r) => r.kid)).to.deep.equal([k.kid, next.kid]);
      expect(both[0]).to.have.all.keys('kid', 'createdAt', 'erasedAt');
      expect(both[0].erasedAt! >= both[0].createdAt).to.equal(true);
      expect(both[1]).to.not.have.property('erasedAt');
      expect(JSON.stringify(both)).to.not.contain(next.key.toString('hex'));
      expect(await s.keysOf(subject())).to.deep.equal([]);
    });
  });
}

contract('in-memory', async () => {
  const one = new MemorySubjectKeyStore();
  return { stores: async (n) => Array.from({ length: n }, () => one), close: async () => {} };
});

contract('SQLite', async () => {
  const knex = await openKnex('sqlite::memory:');
  await migrateLatest(knex);
  return { stores: async (n) => Array.from({ length: n }, () => new SqlSubjectKeyStore(knex)), close: () => knex.destroy() };
});

contract(
  'MariaDB (each store its own connection pool, as separate processes)',
  async () => {
    const db = await createTestDatabase('omc_subject_keys');
    const pools: Knex[] = [];
    const pool = async () => {
      const k = await openKnex(db.url);
      pools.push(k);
      return k;
    };
    await migrateLatest(await pool());
    return {
      stores: async (n) => Promise.all(Array.from({ length: n }, async () => new SqlSubjectKeyStore(await pool()))),
      close: async () => {
        await Promise.all(pools.map((k) => k.destroy()));
        await db.drop();
      },
    };
  },
  (ctx) => requireService(ctx, 'MariaDB', mysqlAvailable),
);

contract('cached over SQLite', async () => {
  const knex = await openKnex('sqlite::memory:');
  await migrateLatest(knex);
  return { stores: async (n) => Array.from({ length: n }, () => cachedSubjectKeys(new SqlSubjectKeyStore(knex))), close: () => knex.destroy() };
});
