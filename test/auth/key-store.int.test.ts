import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { generateApiKey } from '../../src/auth/api-key';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { newId } from '../../src/core/ids';
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

describe('SqlKeyStore.insertUnderLimit on a MariaDB whose sessions run READ COMMITTED', () => {
  it('holds the limit when keys are inserted at once into an empty tenant (no gap locks at that level)', async function () {
    this.timeout(30_000);
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_keys_rc');
    const { default: knexFactory } = await import('knex');
    const url = new URL(db.url);
    // As a server configured with transaction_isolation=READ-COMMITTED gives every session.
    const knex = knexFactory({
      client: 'mysql2',
      connection: { host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), database: url.pathname.slice(1) },
      pool: {
        min: 0,
        max: 10,
        afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err) => done(err, conn));
        },
      },
    });
    try {
      await migrateLatest(knex);
      // Every connection open first, so the inserts below do run at once.
      await Promise.all(Array.from({ length: 8 }, () => knex.raw('SELECT SLEEP(0.1)')));
      const keys = new SqlKeyStore(knex);
      const tenant = 'rc-empty';
      const record = () => {
        const g = generateApiKey();
        return { id: newId(), tenant, role: 'viewer' as const, crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: '2026-12-10T00:00:00.000Z', createdBy: 'test' };
      };
      const results = await Promise.all(Array.from({ length: 8 }, () => keys.insertUnderLimit(record(), { limit: 3 })));
      expect(results.filter((r) => r.inserted)).to.have.length(3);
      expect(await keys.list({ tenant, limit: 100 })).to.have.length(3);
    } finally {
      await knex.destroy();
      await db.drop();
    }
  });
});
