import type { Knex } from 'knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * `rm_tasks.approvals_json`: the task's transaction proposals held for a human (hash, rule,
 * reason, when asked), shown by GET /v1/tasks/:id as `awaitingApproval`. Added empty: a task
 * projected before has none until `openmcp projections rebuild tasks` (docs/operations.md). A
 * database created after this change has it from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.tasks;
  if (await knex.schema.hasColumn(table, 'approvals_json')) return;
  await knex.schema.alterTable(table, (t) => void t.text('approvals_json'));
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn(LIVE_TABLES.tasks, 'approvals_json')) await knex.schema.alterTable(LIVE_TABLES.tasks, (t) => void t.dropColumn('approvals_json'));
}
