import knexFactory, { type Knex } from 'knex';
import { dialectOf } from './knex';
import { databaseLockName } from './named-lock';

/** Seconds one GET_LOCK waits before it is asked again (a live holder is waited for however long it migrates). */
const WAIT_S = 30;

/**
 * Run `fn` (knex's migrations) holding a MySQL named lock beside knex's own migration lock.
 * knex's lock is a row (`knex_migrations_lock.is_locked`) set inside the batch's transaction, and
 * on MySQL the first DDL of a migration commits it: a process that dies while migrating (killed
 * during a long backfill, 20261211050000_subject_events) leaves it set for good, and every later
 * start failed MigrationLocked after 60 s, the backfill never resumed. A named lock dies with its
 * session, so whoever holds it is the only live process migrating (every start takes it first):
 * a set row it finds is a dead process's, and is freed. Waiting for it, a start waits for a live
 * process's migrations however long they take, rather than giving up after 60 s.
 * On its own connection (not one of `knex`'s pool, which the migrations use). SQLite: knex's
 * transaction holds its lock row (DDL does not commit there), a dead process's is rolled back: `fn()`.
 * @example await withMigrationLock(knex, () => knex.migrate.latest({ migrationSource }))
 */
export async function withMigrationLock<T>(knex: Knex, fn: () => Promise<T>): Promise<T> {
  if (dialectOf(knex) !== 'mysql') return fn();
  const { client, connection } = knex.client.config as Knex.Config;
  const holder = knexFactory({ client, connection, pool: { min: 0, max: 1 } });
  const name = databaseLockName(knex, 'migrate');
  try {
    for (;;) {
      const [rows] = await holder.raw('SELECT GET_LOCK(?, ?) AS ok', [name, WAIT_S]);
      if (Number(rows[0]?.ok) === 1) break;
    }
    try {
      if (await knex.schema.hasTable('knex_migrations_lock')) await knex('knex_migrations_lock').where('is_locked', 1).update({ is_locked: 0 });
      return await fn();
    } finally {
      await holder.raw('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
    }
  } finally {
    await holder.destroy();
  }
}
