import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { generateApiKey } from '../../src/auth/api-key';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { openKnex } from '../../src/db/knex';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { describeKeyStore } from './key-store.conformance';

describeKeyStore('in-memory', async () => ({ keys: new MemoryKeyStore(), close: async () => {} }));

describeKeyStore('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-keys-'));
  const knex = await openKnex(`sqlite:${join(dir, 'keys.db')}`);
  await migrateLatest(knex);
  return { keys: new SqlKeyStore(knex), close: async () => (await knex.destroy(), rmSync(dir, { recursive: true, force: true })) };
});

describeKeyStore('MariaDB', async (ctx) => {
  await requireService(ctx, 'MariaDB', mysqlAvailable);
  const db = await createTestDatabase('omc_keys');
  const knex = await openKnex(db.url);
  await migrateLatest(knex);
  return { keys: new SqlKeyStore(knex), close: async () => (await knex.destroy(), await db.drop()) };
});

/** A database whose api_keys table was made before keys could be limited to agents. */
async function upgradesInPlace(knex: Knex): Promise<void> {
  await migrateLatest(knex);
  await knex.schema.alterTable('api_keys', (t) => t.dropColumn('agents_json'));
  await knex('knex_migrations').where({ name: '20261206000100_api_key_agents' }).delete();
  const g = generateApiKey();
  const old = { id: '01900000-0000-7000-8000-0000000000aa', tenant: 'acme', role: 'agent', name: null, cross_tenant: false, prefix: g.prefix, key_hash: g.hash, created_at: '2026-12-01T00:00:00.000Z', created_by: 'x', revoked_at: null };
  await knex('api_keys').insert(old);
  await migrateLatest(knex);
  expect(await knex.schema.hasColumn('api_keys', 'agents_json')).to.equal(true);
  const keys = new SqlKeyStore(knex);
  const before = await keys.get(old.id);
  expect(before, 'a key made before has no list: it acts as any agent, as it did').not.to.have.property('agents');
  expect(before).to.include({ id: old.id, tenant: 'acme', role: 'agent' });
  await migrateLatest(knex);
}

describe('api_keys.agents_json migration (20261206000100)', () => {
  it('SQLite: a database migrated before gets the column; its keys keep no limit', async () => {
    const knex = await openKnex('sqlite::memory:');
    try {
      await upgradesInPlace(knex);
    } finally {
      await knex.destroy();
    }
  });

  it('MariaDB: the same', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_keys_up');
    const knex = await openKnex(db.url);
    try {
      await upgradesInPlace(knex);
    } finally {
      await knex.destroy();
      await db.drop();
    }
  });
});
