import type { Knex } from 'knex';
import * as eventStore from './20261122000100_event_store';
import * as readModels from './20261122000200_read_models';
import * as apiKeys from './20261122000500_api_keys';
import * as leases from './20261122000900_leases';
import * as agentSpend from './20261122001000_agent_spend';

/**
 * Every migration, in order. A custom source (not a directory scan) so the same list runs under
 * tsx, in tests and in a build. Later contexts append their migrations here.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261122000100_event_store': eventStore,
  '20261122000200_read_models': readModels,
  '20261122000500_api_keys': apiKeys,
  '20261122000900_leases': leases,
  '20261122001000_agent_spend': agentSpend,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

/** Another process created knex's bookkeeping tables (knex_migrations, knex_migrations_lock) between our check and our create. */
const LOST_TABLE_RACE = /table [`'"]?knex_migrations(_lock)?[`'"]? already exists/i;

/**
 * Bring the database schema up to date. Idempotent; several processes starting at once are
 * serialized by knex's migration lock, and the losers retry until the winner is done — including
 * the very first ones on a fresh database, which race to create the lock table itself.
 */
export async function migrateLatest(knex: Knex): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; ; attempt++) {
    try {
      await knex.migrate.latest({ migrationSource });
      return;
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      const busy =
        e.name === 'MigrationLocked' ||
        (e.code ?? '').startsWith('SQLITE_BUSY') ||
        /database is locked/.test(e.message ?? '') ||
        LOST_TABLE_RACE.test(e.message ?? '');
      if (!busy || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}
