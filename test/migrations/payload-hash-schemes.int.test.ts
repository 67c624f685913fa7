import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down } from '../../migrations/20261211060000_payload_hash_schemes';
import { openKnex } from '../../src/db/knex';
import { LIVE_TABLES } from '../../projections/tables';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

const ADDED: [string, string][] = [
  [LIVE_TABLES.toolCalls, 'arguments_hash_scheme'],
  [LIVE_TABLES.toolCalls, 'result_hash_scheme'],
  [LIVE_TABLES.toolCalls, 'arguments_salt_sealed'],
  [LIVE_TABLES.toolCalls, 'result_salt_sealed'],
  [LIVE_TABLES.toolCalls, 'error_salt_sealed'],
  [LIVE_TABLES.tasks, 'instruction_hash_scheme'],
];

/**
 * 20261211060000_payload_hash_schemes on a database an earlier release migrated (read models without
 * the columns): it adds them, and a database created after has them from the read models' schema.
 */
describe('migration 20261211060000_payload_hash_schemes', function () {
  this.timeout(120_000);

  async function upgrades(knex: Knex): Promise<void> {
    await migrateLatest(knex);
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c), `${t}.${c} on a new database`).to.equal(true);
    // As a database of the release before: without the columns, the migration not recorded.
    await down(knex);
    await knex('knex_migrations').where({ name: '20261211060000_payload_hash_schemes' }).delete();
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c)).to.equal(false);
    expect((await migrateLatest(knex)).applied).to.deep.equal(['20261211060000_payload_hash_schemes']);
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c), `${t}.${c} after the upgrade`).to.equal(true);
  }

  it('SQLite: adds the columns to read models that lack them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-schemes-'));
    const knex = await openKnex(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      await upgrades(knex);
    } finally {
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MariaDB: adds the columns to read models that lack them', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_schemes');
    const knex = await openKnex(db.url);
    try {
      await upgrades(knex);
    } finally {
      await knex.destroy();
      await db.drop();
    }
  });
});
