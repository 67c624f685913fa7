import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRebuild } from '../../src/cli/rebuild';
import { OpenMcpError } from '../../src/core/errors';
import { loadConfig } from '../../src/config';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

describe('openmcp projections rebuild: the database it rebuilds in', function () {
  this.timeout(60_000);

  it('says when DATABASE_URL named a database that did not exist (a typo in its name): the rebuild made it and reported success there, leaving the real read models as they were', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const dir = mkdtempSync(join(tmpdir(), 'omc-rebuild-'));
    // A unique name, and no database of that name (made, then dropped; dropped again at the end).
    const db = await createTestDatabase('omc_rebuild_typo');
    await db.drop();
    const said: string[] = [];
    const saved = { log: console.log, error: console.error };
    Object.assign(console, { log: (...a: unknown[]) => void said.push(`out: ${a.join(' ')}`), error: (...a: unknown[]) => void said.push(`err: ${a.join(' ')}`) });
    try {
      await runRebuild(loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url }), 'tasks');
      await runRebuild(loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url }), 'tasks');
    } finally {
      Object.assign(console, saved);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
    const warnings = said.filter((l) => l.includes('did not exist'));
    expect(warnings, said.join('\n')).to.have.length(1);
    expect(warnings[0]).to.match(new RegExp(`^err: database ${db.name} did not exist: created it \\(empty\\)\\. .*DATABASE_URL`));
  });

  /** Rebuilds on a fresh database (this release's), records a later release's migration, rebuilds again: refused, nothing touched. */
  async function expectRefusedAfterNewerMigration(databaseUrl: string | undefined, knex: Knex, dir: string): Promise<void> {
    const said: string[] = [];
    const saved = { log: console.log, error: console.error };
    const config = () => loadConfig({ DATA_DIR: dir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    let refused: unknown;
    let epochs: unknown[] = [];
    try {
      // A fresh database, then one this very release migrated: both rebuilt.
      await runRebuild(config(), 'audit-log');
      await runRebuild(config(), 'audit-log');
      await knex('knex_migrations').insert({ name: '20991231000000_a_later_release', batch: 99, migration_time: new Date() });
      const before = await knex('rm_cache_epoch').select('epoch');
      Object.assign(console, { log: (...a: unknown[]) => void said.push(`out: ${a.join(' ')}`), error: (...a: unknown[]) => void said.push(`err: ${a.join(' ')}`) });
      refused = await runRebuild(config(), 'audit-log').then(() => undefined, (err: unknown) => err);
      Object.assign(console, saved);
      epochs = [before, await knex('rm_cache_epoch').select('epoch')];
    } finally {
      Object.assign(console, saved);
    }
    expect(refused, said.join('\n')).to.be.instanceOf(OpenMcpError);
    expect((refused as OpenMcpError).code).to.equal('SCHEMA_FROM_NEWER_RELEASE');
    expect((refused as OpenMcpError).details).to.deep.equal({ migrations: ['20991231000000_a_later_release'] });
    expect((refused as Error).message).to.match(/^the database has migrations of a newer release \(20991231000000_a_later_release\): /).and.include('rebuild it with that release');
    expect(said.filter((l) => l.startsWith('out: ')), 'nothing rebuilt').to.deep.equal([]);
    expect(epochs[1], 'no swap: the cache epoch stays').to.deep.equal(epochs[0]);
  }

  it("refuses a database a newer release migrated (an old container's rebuild mid-rollout, or after a rollback), touching nothing: its fresh tables, made by this release, would lack the columns and indexes of the newer release's migrations, which stay recorded as done (was: rebuilt and swapped in without a word); MariaDB", async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const dir = mkdtempSync(join(tmpdir(), 'omc-rebuild-'));
    const db = await createTestDatabase('omc_rebuild_newer');
    const knex = knexFactory({ client: 'mysql2', connection: db.url });
    try {
      await expectRefusedAfterNewerMigration(db.url, knex, dir);
    } finally {
      await knex.destroy();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database a newer release migrated, touching nothing; SQLite (DATA_DIR)', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'omc-rebuild-'));
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'openmcp.db') }, useNullAsDefault: true });
    try {
      await expectRefusedAfterNewerMigration(undefined, knex, dir);
    } finally {
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
