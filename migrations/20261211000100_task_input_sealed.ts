import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * The tasks read model's sealed input (TaskSubmitted v3, MCP_PAYLOAD_POLICY=encrypted):
 * `rm_tasks.instruction_sealed` / `instruction_hash` and `rm_task_steps.arguments_sealed` /
 * `arguments_hash`, as the event keeps them, opened per request with the subject's key.
 */
const COLUMNS: [table: string, column: string, kind: 'long' | 'hash'][] = [
  [LIVE_TABLES.tasks, 'instruction_sealed', 'long'],
  [LIVE_TABLES.tasks, 'instruction_hash', 'hash'],
  [LIVE_TABLES.taskSteps, 'arguments_sealed', 'long'],
  [LIVE_TABLES.taskSteps, 'arguments_hash', 'hash'],
];

export async function up(knex: Knex): Promise<void> {
  // A database created after this change has them from src/readmodels/schema.ts already.
  for (const [table, c, kind] of COLUMNS) {
    if (await knex.schema.hasColumn(table, c)) continue;
    await knex.schema.alterTable(table, (t) => {
      if (kind === 'hash') t.string(c, 66);
      else if (dialectOf(knex) === 'mysql') t.specificType(c, 'LONGTEXT');
      else t.text(c);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, c] of COLUMNS) {
    if (await knex.schema.hasColumn(table, c)) await knex.schema.alterTable(table, (t) => void t.dropColumn(c));
  }
}
