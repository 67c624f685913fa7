import type { Knex } from 'knex';
import { retryOnContention } from '../src/db/contention';
import { withMigrationLock } from '../src/db/migration-lock';
import { dialectOf } from '../src/db/knex';

/**
 * Every migration, in order. A custom source (not a directory scan) so the same list runs under
 * tsx, in tests and in a build. Later contexts append their migrations here.
 *
 * Each is loaded when knex runs it: a start on a database already up to date (every start but the
 * first) needs only the names, and `openmcp mcp stdio` answers an MCP host once its modules are
 * loaded (the migrations import read-model and event schemas the stdio gateway does not use).
 */
const migrations: Record<string, () => Knex.Migration> = {
  '20261122000100_event_store': () => require('./20261122000100_event_store') as Knex.Migration,
  '20261122000200_read_models': () => require('./20261122000200_read_models') as Knex.Migration,
  '20261122000500_api_keys': () => require('./20261122000500_api_keys') as Knex.Migration,
  '20261122000900_leases': () => require('./20261122000900_leases') as Knex.Migration,
  '20261122001000_agent_spend': () => require('./20261122001000_agent_spend') as Knex.Migration,
  '20261205000100_exact_text': () => require('./20261205000100_exact_text') as Knex.Migration,
  '20261205000200_mcp_server_lists': () => require('./20261205000200_mcp_server_lists') as Knex.Migration,
  '20261205000300_mcp_tool_icons_meta': () => require('./20261205000300_mcp_tool_icons_meta') as Knex.Migration,
  '20261205000400_read_cache_epoch': () => require('./20261205000400_read_cache_epoch') as Knex.Migration,
  '20261206000100_api_key_agents': () => require('./20261206000100_api_key_agents') as Knex.Migration,
  '20261207000100_task_sealed_answer': () => require('./20261207000100_task_sealed_answer') as Knex.Migration,
  '20261208000100_api_key_agents_revision': () => require('./20261208000100_api_key_agents_revision') as Knex.Migration,
  '20261209000100_tool_call_list_indexes': () => require('./20261209000100_tool_call_list_indexes') as Knex.Migration,
  '20261210000100_agent_spend_keys': () => require('./20261210000100_agent_spend_keys') as Knex.Migration,
  '20261210000200_audit_event_type_index': () => require('./20261210000200_audit_event_type_index') as Knex.Migration,
  '20261210000300_subject_keys': () => require('./20261210000300_subject_keys') as Knex.Migration,
  '20261211000100_task_input_sealed': () => require('./20261211000100_task_input_sealed') as Knex.Migration,
  '20261211004500_api_key_issuing': () => require('./20261211004500_api_key_issuing') as Knex.Migration,
  '20261211013700_api_key_idempotency': () => require('./20261211013700_api_key_idempotency') as Knex.Migration,
  '20261211050000_subject_events': () => require('./20261211050000_subject_events') as Knex.Migration,
  '20261211060000_payload_hash_schemes': () => require('./20261211060000_payload_hash_schemes') as Knex.Migration,
  '20261211070000_tool_call_server_tool_index': () => require('./20261211070000_tool_call_server_tool_index') as Knex.Migration,
  '20261211080000_task_approvals': () => require('./20261211080000_task_approvals') as Knex.Migration,
  '20261211090000_tool_call_step': () => require('./20261211090000_tool_call_step') as Knex.Migration,
  '20261211100000_step_run_transactions': () => require('./20261211100000_step_run_transactions') as Knex.Migration,
  '20261211110000_gateway_settings': () => require('./20261211110000_gateway_settings') as Knex.Migration,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name](),
};

/**
 * migrationSource as knex runs it on `knex`'s database: on MySQL a migration's `mysqlConfig` is
 * its knex `config` (20261211050000_subject_events runs outside knex's transaction there, which the
 * first DDL commits anyway; knex's lock row, then committed as well, is guarded by withMigrationLock).
 */
function sourceFor(knex: Knex): Knex.MigrationSource<string> {
  if (dialectOf(knex) !== 'mysql') return migrationSource;
  return {
    ...migrationSource,
    getMigration: async (name) => {
      const m = migrations[name]() as Knex.Migration & { mysqlConfig?: { transaction?: boolean } };
      return m.mysqlConfig ? { ...m, config: m.mysqlConfig } : m;
    },
  };
}

const LOCK_TABLE = 'knex_migrations_lock';
/** Another process created one of knex's bookkeeping tables between our check and our create. */
const LOST_TABLE_RACE = /table [`'"]?knex_migrations(_lock)?[`'"]? already exists/i;

/**
 * knex's own tables, made safe for processes starting at once on a fresh database. knex creates
 * them check-then-create and inserts the lock row check-then-insert: racing processes fail on the
 * create, or insert a lock row each — and with two rows nobody can ever take the lock again
 * (knex requires its update to hit exactly one row), so every later start fails. Here a lost
 * create race is ignored, the lock row goes in only into an empty table under one fixed key (a
 * second insert collapses into the first), and extra rows an earlier race left are removed (with
 * more than one row the lock cannot be held, so removing them interrupts no one).
 */
async function ensureBookkeeping(knex: Knex): Promise<void> {
  const tables: [string, (t: Knex.CreateTableBuilder) => void][] = [
    ['knex_migrations', (t) => (t.increments(), t.string('name'), t.integer('batch'), t.timestamp('migration_time'))],
    [LOCK_TABLE, (t) => (t.increments('index').primary(), t.integer('is_locked'))],
  ];
  for (const [name, columns] of tables) {
    if (await knex.schema.hasTable(name)) continue;
    await knex.schema.createTable(name, columns).catch((err: Error) => {
      if (!LOST_TABLE_RACE.test(err.message)) throw err;
    });
  }
  const mysql = knex.client.config.client !== 'better-sqlite3';
  await knex.raw(
    `INSERT ${mysql ? 'IGNORE' : 'OR IGNORE'} INTO ${LOCK_TABLE} (${mysql ? '`index`' : '"index"'}, is_locked) ` +
      `SELECT 1, 0 ${mysql ? 'FROM DUAL ' : ''}WHERE NOT EXISTS (SELECT 1 FROM ${LOCK_TABLE})`,
  );
  const rows: { index: number }[] = await knex(LOCK_TABLE).select('index').orderBy('index');
  if (rows.length > 1) await knex(LOCK_TABLE).where('index', '>', rows[0].index).del();
}

export type MigrateLatestReturnType = {
  /** The migrations this call ran, in order (none when another process had run them). */
  applied: string[];
  /** Migrations the database records that this release does not know: a newer release ran them. */
  newer: string[];
};

/**
 * Bring the database schema up to date. Idempotent; several processes starting at once are
 * serialized by knex's migration lock (its tables made race-safe first), and the losers retry
 * until the winner is done. A database a newer release migrated (a rolling upgrade running this
 * release beside it, or a rollback to this release) is run on as it is: migrations are additive
 * (docs/operations.md, "Upgrading without downtime"), and this release's own ones that it lacks
 * still run; `newer` names the others.
 * @example const { applied, newer } = await migrateLatest(knex)
 */
export async function migrateLatest(knex: Knex): Promise<MigrateLatestReturnType> {
  let applied: string[] = [];
  // Racing starts lose lock races (MySQL deadlocks, e.g. both inserting the lock row; a busy
  // SQLite) or find the migration lock held: all retried until the winner is done.
  // Under a named lock beside knex's own, which a process dying on MySQL leaves set (withMigrationLock).
  await withMigrationLock(knex, () => retryOnContention(
    async () => {
      await ensureBookkeeping(knex);
      // knex's list check would refuse a newer release's migrations as "missing files" and fail
      // every start; what is pending is still this release's own migrations not yet recorded.
      const [, log]: [number, string[]] = await knex.migrate.latest({ migrationSource: sourceFor(knex), disableMigrationsListValidation: true });
      applied = log;
    },
    { deadlineMs: 60_000, alsoRetry: (err) => (err as { name?: string }).name === 'MigrationLocked' },
  ));
  const known = new Set(await migrationSource.getMigrations([]));
  const recorded: { name: string }[] = await knex('knex_migrations').select('name').orderBy('name');
  return { applied, newer: recorded.map((r) => r.name).filter((name) => !known.has(name)) };
}
