import type { Knex } from 'knex';
import * as eventStore from './20261122000100_event_store';

/**
 * Every migration, in order. A custom source (not a directory scan) so the same list runs under
 * tsx, in tests and in a build. Later contexts append their migrations here.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261122000100_event_store': eventStore,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

/** Bring the database schema up to date (idempotent; serialized by knex's migration lock). */
export async function migrateLatest(knex: Knex): Promise<void> {
  await knex.migrate.latest({ migrationSource });
}
