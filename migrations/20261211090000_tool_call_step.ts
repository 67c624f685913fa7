import type { Knex } from 'knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * `rm_tool_calls.step_id`: the agent step a call was made for (ToolCallRequested v5), by which
 * GET /v1/tasks/:id joins a step to its own call. Added empty: calls projected before have none and
 * are joined by order, as before (`openmcp projections rebuild tool-calls` fills it for calls whose
 * events carry it). A database created after this change has it from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  if (await knex.schema.hasColumn(table, 'step_id')) return;
  await knex.schema.alterTable(table, (t) => void t.string('step_id', 200));
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn(LIVE_TABLES.toolCalls, 'step_id')) await knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => void t.dropColumn('step_id'));
}
