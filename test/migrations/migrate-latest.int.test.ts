import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, migrationSource } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

/**
 * Every role process migrates at start, and `docker compose up` starts them all at once against a
 * fresh database: the first ones race even to create knex's own bookkeeping tables.
 */
describe('migrateLatest: processes starting at once on a fresh database', function () {
  this.timeout(120_000);

  async function startTogether(openOne: () => Promise<Knex>, n: number): Promise<Knex[]> {
    const conns = await Promise.all(Array.from({ length: n }, openOne));
    await Promise.all(conns.map((k) => migrateLatest(k)));
    return conns;
  }
  async function expectComplete(k: Knex): Promise<void> {
    const done = (await k('knex_migrations').select('name')).map((r: { name: string }) => r.name).sort();
    expect(done).to.deep.equal(await migrationSource.getMigrations([]));
    // One lock row, free: with two, knex could never take the lock again and every later start would fail.
    expect(await k('knex_migrations_lock').select('is_locked')).to.deep.equal([{ is_locked: 0 }]);
  }

  /** A database where two processes once both inserted knex's lock row (before this fix) still starts, and is left with one row. */
  async function expectRepairsDoubleLockRow(k: Knex): Promise<void> {
    await k('knex_migrations_lock').insert({ is_locked: 0 });
    await migrateLatest(k);
    expect(await k('knex_migrations_lock').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
  }

  it('MariaDB: all succeed, every migration runs exactly once', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    for (let round = 0; round < 5; round++) {
      const db = await createTestDatabase('omc_migrate');
      const conns = await startTogether(() => openKnex(db.url), 4);
      try {
        await expectComplete(conns[0]);
        if (round === 0) await expectRepairsDoubleLockRow(conns[1]);
      } finally {
        await Promise.all(conns.map((k) => k.destroy()));
        await db.drop();
      }
    }
  });

  it('SQLite (one file, separate connections): all succeed, every migration runs exactly once', async function () {
    for (let round = 0; round < 5; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'omc-migrate-'));
      const conns = await startTogether(() => openKnex(`sqlite:${join(dir, 'db.sqlite')}`), 4);
      try {
        await expectComplete(conns[0]);
        if (round === 0) await expectRepairsDoubleLockRow(conns[1]);
      } finally {
        await Promise.all(conns.map((k) => k.destroy()));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
