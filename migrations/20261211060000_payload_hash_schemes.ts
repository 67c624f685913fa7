import type { Knex } from 'knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * The schemes of salted payload hashes in the read models, so the API names a hash's scheme after
 * its subject's erasure too (before, it did only while the key opened the payload), and the salts
 * sealed alone for payloads kept by hash only (ToolCallRequested / ToolCallCompleted v4) and for
 * a withheld error's digest (ToolCallFailed v2): `rm_tool_calls.arguments_hash_scheme`,
 * `result_hash_scheme`, `arguments_salt_sealed`, `result_salt_sealed`, `error_salt_sealed`, and
 * `rm_tasks.instruction_hash_scheme`. Rows projected before it have none:
 * `openmcp projections rebuild tool-calls` (and `tasks`) fills them from the log.
 */
const COLUMNS: [table: string, column: string, kind: 'scheme' | 'text'][] = [
  [LIVE_TABLES.toolCalls, 'arguments_hash_scheme', 'scheme'],
  [LIVE_TABLES.toolCalls, 'result_hash_scheme', 'scheme'],
  [LIVE_TABLES.toolCalls, 'arguments_salt_sealed', 'text'],
  [LIVE_TABLES.toolCalls, 'result_salt_sealed', 'text'],
  [LIVE_TABLES.toolCalls, 'error_salt_sealed', 'text'],
  [LIVE_TABLES.tasks, 'instruction_hash_scheme', 'scheme'],
];

export async function up(knex: Knex): Promise<void> {
  // A database created after this change has them from src/readmodels/schema.ts already.
  for (const [table, c, kind] of COLUMNS) {
    if (await knex.schema.hasColumn(table, c)) continue;
    await knex.schema.alterTable(table, (t) => void (kind === 'scheme' ? t.string(c, 40) : t.text(c)));
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, c] of COLUMNS) {
    if (await knex.schema.hasColumn(table, c)) await knex.schema.alterTable(table, (t) => void t.dropColumn(c));
  }
}
