import type { Knex } from 'knex';
import { createTable, dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * `subject_keys`: the data keys of MCP_PAYLOAD_POLICY=encrypted (src/erasure/sql-subject-key-store.ts),
 * one row per key ever made, the subject kept only as its SHA-256. `live_subject_hash` is unique
 * (null once erased), so one subject has at most one live key; erasing clears `key_hex` for good.
 * And the tool-calls read model's `arguments_sealed` / `result_sealed`: the payloads as the events
 * keep them, encrypted (JSON of the envelope), opened per request with the subject's key.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('subject_keys'))) {
    await createTable(knex, 'subject_keys', (t) => {
      t.string('kid', 36).primary();
      t.string('subject_hash', 66).notNullable().index();
      t.string('live_subject_hash', 66).unique();
      t.string('key_hex', 64);
      t.string('created_at', 24).notNullable();
      t.string('erased_at', 24);
    });
  }
  const long = (t: Knex.AlterTableBuilder, c: string) => (dialectOf(knex) === 'mysql' ? t.specificType(c, 'LONGTEXT') : t.text(c));
  // A database created after this change has them from src/readmodels/schema.ts already.
  for (const c of ['arguments_sealed', 'result_sealed']) {
    if (!(await knex.schema.hasColumn(LIVE_TABLES.toolCalls, c))) await knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => void long(t, c));
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('subject_keys');
  for (const c of ['arguments_sealed', 'result_sealed']) {
    if (await knex.schema.hasColumn(LIVE_TABLES.toolCalls, c)) await knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => void t.dropColumn(c));
  }
}
