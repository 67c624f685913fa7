import type { Knex } from 'knex';
import { migrateLatest } from '../../../migrations';
import { openKnex, type SqliteSynchronous } from '../../db/knex';
import { SqlEventStore, type SqlEventStoreOptions } from './sql-event-store';

export { SqlEventStore, EventIdConflictError, type SqlEventStoreOptions } from './sql-event-store';

/**
 * Open the SQL event store at `url` (sqlite:<path> or mysql://…), creating the MySQL database
 * if missing and running migrations.
 * @example const store = await openSqlEventStore('sqlite:./data/openmcp.db')
 */
export async function openSqlEventStore(
  url: string,
  options: SqlEventStoreOptions & { sqliteSynchronous?: SqliteSynchronous } = {},
): Promise<SqlEventStore> {
  const { sqliteSynchronous, ...storeOptions } = options;
  const knex = await openKnex(url, { createDatabase: true, sqliteSynchronous });
  await migrateLatest(knex);
  return new SqlEventStore(knex, { ...storeOptions, ownsKnex: true });
}

/** Use an existing knex (shared with read models); migrations must have run. */
export function sqlEventStoreOn(knex: Knex, options: SqlEventStoreOptions = {}): SqlEventStore {
  return new SqlEventStore(knex, options);
}
