import type { Knex } from 'knex';
import { dialectOf, MYSQL_CHARSET, mysqlCollation } from '../src/db/knex';
import { CHECKPOINT_TABLE, LIVE_TABLES } from '../projections/tables';

/** The tables of the earlier migrations. */
const TABLES = ['events', 'event_log_head', 'checkpoints', 'api_keys', 'leases', 'agent_spend', ...Object.values(LIVE_TABLES), CHECKPOINT_TABLE];

/**
 * MySQL: convert tables created before every table got an exact collation (binary, no padding:
 * see mysqlCollation). knex had created them with `utf8mb4`'s default, case-insensitive
 * collation, whatever the database's own, so tenants 'Acme' and 'acme' shared read-model rows and
 * spend totals, two streams whose names differ only in case collided, and so did tool names that
 * differ only in trailing spaces. Each conversion copies its table (for a large `events` table,
 * minutes; see docs/operations.md). SQLite compares exactly already: nothing to do.
 */
export async function up(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  const exact = await mysqlCollation(knex);
  const rows: { name: string; collation: string }[] = await knex('information_schema.TABLES')
    .select({ name: 'TABLE_NAME', collation: 'TABLE_COLLATION' })
    .whereRaw('TABLE_SCHEMA = DATABASE()')
    .whereIn('TABLE_NAME', TABLES);
  for (const r of rows) {
    if (r.collation !== exact) await knex.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET ?? COLLATE ??', [r.name, MYSQL_CHARSET, exact]);
  }
}

/** Nothing to undo: the case-insensitive tables were the fault. */
export async function down(): Promise<void> {}
