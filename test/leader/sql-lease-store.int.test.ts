import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { SqlLeaseStore } from '../../src/leader';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { describeLeaseStore, type LeaseStoreFixture } from './lease-store.conformance';

// The fenced write under test: a row inserted in the same transaction that checks the token.
async function sqlFixture(knex: Knex, another: Knex, cleanup: () => Promise<void>): Promise<LeaseStoreFixture> {
  await migrateLatest(knex);
  await knex.schema.createTable('fence_probe', (t) => {
    t.increments('id');
    t.string('lease', 100);
    t.string('value', 100);
  });
  const store = new SqlLeaseStore(knex);
  return {
    store,
    fencedWrite: async (lease, token, value) => {
      await store.fenced(lease, token, (trx) => trx('fence_probe').insert({ lease, value }));
      return true;
    },
    written: async (lease) => (await knex('fence_probe').where({ lease }).orderBy('id')).map((r) => r.value),
    another: new SqlLeaseStore(another),
    close: async () => {
      await knex.destroy();
      await another.destroy();
      await cleanup();
    },
  };
}

describeLeaseStore('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-leases-'));
  const knex = await openKnex(`sqlite:${join(dir, 'leases.db')}`);
  const another = await openKnex(`sqlite:${join(dir, 'leases.db')}`);
  return sqlFixture(knex, another, async () => rmSync(dir, { recursive: true, force: true }));
});

describeLeaseStore('MariaDB', async (ctx) => {
  await requireService(ctx, 'MariaDB', mysqlAvailable);
  const db = await createTestDatabase('omc_leases');
  const knex = await openKnex(db.url);
  return sqlFixture(knex, await openKnex(db.url), () => db.drop());
});
