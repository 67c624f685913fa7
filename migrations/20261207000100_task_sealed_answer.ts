import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * `rm_tasks.sealed_answer_json`: the answer sealed to the task's answerRecipient (TaskCompleted v2,
 * under LLM_REDACTION=hash-only), shown by GET /v1/tasks/:id. Added empty: no task completed before
 * this had one (v2 is new with it). A database created after this change has it from
 * src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.tasks;
  if (await knex.schema.hasColumn(table, 'sealed_answer_json')) return;
  await knex.schema.alterTable(table, (t) => {
    if (dialectOf(knex) === 'mysql') t.specificType('sealed_answer_json', 'LONGTEXT');
    else t.text('sealed_answer_json');
  });
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn(LIVE_TABLES.tasks, 'sealed_answer_json')) await knex.schema.alterTable(LIVE_TABLES.tasks, (t) => t.dropColumn('sealed_answer_json'));
}
