import type { Knex } from 'knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * `rm_task_step_runs.tx_json`: a chain step's transaction as its events tell it (submitted, mined,
 * refused), which GET /v1/tasks/:id shows for a step its task's cancel or timeout cut short. Added
 * empty: steps projected before have none until `openmcp projections rebuild task-steps`. A
 * database created after this change has it from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.taskStepRuns;
  if (await knex.schema.hasColumn(table, 'tx_json')) return;
  await knex.schema.alterTable(table, (t) => void t.text('tx_json'));
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn(LIVE_TABLES.taskStepRuns, 'tx_json')) await knex.schema.alterTable(LIVE_TABLES.taskStepRuns, (t) => void t.dropColumn('tx_json'));
}
