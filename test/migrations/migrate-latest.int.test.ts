import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, migrationSource } from '../../migrations';
import { mysqlCollation, openKnex } from '../../src/db/knex';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';

/** Tables of migrations after 20261205000100_exact_text: created with the exact collation, never converted. */
const CREATED_AFTER_THE_FIX = [CACHE_EPOCH_TABLE, 'agent_spend_keys', 'subject_keys', 'gateway_settings'];

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

/**
 * A rolling upgrade runs the previous release beside the new one, and a rollback runs it after the
 * new one: the first new process has recorded migrations the previous release does not know. They
 * are additive (docs/operations.md), so the previous release must start on that schema; knex's own
 * check refused every such start ("The migration directory is corrupt, the following files are
 * missing"), so an old process that restarted during the rollout, or any after a rollback, failed.
 */
describe('migrateLatest: a database a newer release migrated', function () {
  this.timeout(120_000);
  const NEWER = ['20991231000100_of_a_newer_release', '20991231000200_another_of_it'];

  async function expectRunsOnIt(k: Knex): Promise<void> {
    const all = await migrationSource.getMigrations([]);
    expect((await migrateLatest(k)).applied, 'a fresh database').to.deep.equal(all);
    await k('knex_migrations').insert(NEWER.map((name) => ({ name, batch: 99, migration_time: new Date() })));
    expect(await migrateLatest(k)).to.deep.equal({ applied: [], newer: NEWER });
    // One of this release's own still missing (a newer release always has run it; here, by hand) runs all the same.
    const last = all[all.length - 1];
    await k('knex_migrations').where({ name: last }).delete();
    expect(await migrateLatest(k)).to.deep.equal({ applied: [last], newer: NEWER });
  }

  it('SQLite: starts, runs what it lacks of its own, names the newer ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-migrate-newer-'));
    const k = await openKnex(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      await expectRunsOnIt(k);
    } finally {
      await k.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MariaDB: starts, runs what it lacks of its own, names the newer ones', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_migrate_newer');
    const k = await openKnex(db.url);
    try {
      await expectRunsOnIt(k);
    } finally {
      await k.destroy();
      await db.drop();
    }
  });
});

/**
 * knex sets its lock row inside the batch's transaction, and on MySQL a migration's first DDL
 * commits it: a process killed while migrating (during 20261211050000_subject_events' backfill of
 * a large log, which takes minutes) left it set, and every later start failed MigrationLocked
 * after 60 s, so the backfill never went on. A live process migrating is waited for instead.
 */
describe('migrateLatest: a process that died while migrating (MariaDB)', function () {
  this.timeout(180_000);

  it("a later start frees the lock row the dead one left set and runs what it lacked; a live one's migrations are waited for", async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_migrate_dead');
    const k = await openKnex(db.url);
    const other = await openKnex(db.url);
    try {
      const all = await migrationSource.getMigrations([]);
      await migrateLatest(k);
      // As a process killed in the middle of the last migration leaves it: not recorded, the lock row committed set.
      const last = all[all.length - 1];
      await k('knex_migrations').where({ name: last }).delete();
      await k('knex_migrations_lock').update({ is_locked: 1 });
      expect(await migrateLatest(k)).to.deep.equal({ applied: [last], newer: [] });
      expect(await k('knex_migrations_lock').select('is_locked')).to.deep.equal([{ is_locked: 0 }]);

      // Two starts at once, the lock row set meanwhile by whichever migrates: both succeed, the migration runs once.
      await k('knex_migrations').where({ name: last }).delete();
      const runs = await Promise.all([migrateLatest(k), migrateLatest(other)]);
      expect(runs.map((r) => r.applied).sort()).to.deep.equal([[], [last]]);
    } finally {
      await other.destroy();
      await k.destroy();
      await db.drop();
    }
  });
});

/**
 * MySQL tables must compare text exactly, as SQLite does: tenants, stream names, tool names and
 * ids that differ only in case or in trailing spaces are different. knex used to create every table with utf8mb4's default,
 * case-insensitive collation, whatever the database's own (a database made by a compose file's
 * MYSQL_DATABASE has the server's default too).
 */
describe('MySQL tables compare text exactly (binary, no padding)', function () {
  this.timeout(120_000);

  async function collations(k: Knex): Promise<Record<string, string>> {
    const rows: { name: string; collation: string }[] = await k('information_schema.TABLES')
      .select({ name: 'TABLE_NAME', collation: 'TABLE_COLLATION' })
      .whereRaw('TABLE_SCHEMA = DATABASE()')
      .orderBy('TABLE_NAME');
    // knex's own bookkeeping tables hold only migration names.
    return Object.fromEntries(rows.filter((r) => !r.name.startsWith('knex_')).map((r) => [r.name, r.collation]));
  }

  it('every table, in a database whose own default is case-insensitive, and after upgrading one made case-insensitive', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_collate');
    const k = await openKnex(db.url);
    try {
      await k.raw('ALTER DATABASE ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', [db.name]);
      await migrateLatest(k);
      const exact = await mysqlCollation(k);
      expect(exact, 'MariaDB has a binary collation without padding').to.equal('utf8mb4_nopad_bin');
      const fresh = await collations(k);
      expect(Object.keys(fresh)).to.include.members(['events', 'api_keys', 'agent_spend', 'leases', 'rm_tasks', 'rm_audit_events', 'rm_projection_checkpoints']);
      for (const [table, collation] of Object.entries(fresh)) expect(collation, table).to.equal(exact);
      const tool = { server_id: 's1', tenant: 'acme', server: 'files', input_schema_json: '{}' };
      await k('rm_mcp_tools').insert([{ ...tool, name: 'search' }, { ...tool, name: 'search ' }]);
      expect(await k('rm_mcp_tools').where({ name: 'search' }).pluck('name'), 'trailing spaces count').to.deep.equal(['search']);

      // A database migrated before the fix: its tables case-insensitive, the conversion not yet run.
      await k('rm_mcp_tools').where({ name: 'search ' }).delete();
      // (Tables of later migrations did not exist then: they are created exact.)
      const before = Object.keys(fresh).filter((t) => !CREATED_AFTER_THE_FIX.includes(t));
      for (const table of before) await k.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', [table]);
      const head = { position: 0, id: '01900000-0000-7000-8000-000000000000', revision: 0, type: 'TaskStarted', version: 1, tenant: 'Acme', occurred_at: '2026-12-05T00:00:00.000Z', hash: `0x${'1'.repeat(64)}`, body: '{}' };
      await k('events').insert({ ...head, stream: 'task-Abc' });
      const clash = await k('events').insert({ ...head, position: 1, id: '01900000-0000-7000-8000-000000000001', stream: 'task-abc' }).catch((e: Error) => e);
      expect(String(clash), 'case-insensitive: the two streams collide').to.match(/Duplicate entry/);
      await k('knex_migrations').where({ name: '20261205000100_exact_text' }).delete();
      await migrateLatest(k);
      for (const [table, collation] of Object.entries(await collations(k))) expect(collation, `${table} after the upgrade`).to.equal(exact);
      expect(await k('events').where({ stream: 'task-Abc' }).count({ n: '*' }), 'rows kept').to.deep.equal([{ n: 1 }]);
      await k('events').insert({ ...head, position: 1, id: '01900000-0000-7000-8000-000000000001', stream: 'task-abc' });
      expect((await k('events').where({ stream: 'task-abc' }).select('id')).map((r: { id: string }) => r.id)).to.deep.equal(['01900000-0000-7000-8000-000000000001']);
      const update = await k('events').where({ stream: 'task-abc' }).update({ tenant: 'x' }).catch((e: Error) => e);
      expect(String(update), 'still append-only after the conversion').to.match(/append-only/);
    } finally {
      await k.destroy();
      await db.drop();
    }
  });
});

describe('MySQL sessions run in UTC', function () {
  it('every pooled connection: NOW() and UNIX_TIMESTAMP() agree with the epoch whatever the server zone', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_utc');
    const k = await openKnex(db.url, { poolMax: 3 });
    try {
      const conns = await Promise.all([0, 1, 2].map(() => k.transaction(async (trx) => {
        const [[row]] = await trx.raw('SELECT @@session.time_zone AS tz, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS now_ms');
        await new Promise((r) => setTimeout(r, 50)); // hold the connection so the three are different
        return row as { tz: string; now_ms: number };
      })));
      for (const c of conns) {
        expect(c.tz).to.equal('+00:00');
        expect(Math.abs(Number(c.now_ms) - Date.now())).to.be.below(5_000);
      }
    } finally {
      await k.destroy();
      await db.drop();
    }
  });
});
