import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';

/**
 * `agent_spend_keys`: the keys of additions to `agent_spend` that must count once (SqlSpendLedger
 * `add` with a key): one row per tenant and key, written in the same transaction as the total. The
 * agent runtime books each model turn's tokens under the id of the turn's InferenceCompleted, so a
 * booking retried after an outage (its first attempt may have been written) counts once. `day` is
 * the day it was booked on, for an operator who prunes old rows (docs/operations.md).
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable('agent_spend_keys')) return;
  await createTable(knex, 'agent_spend_keys', (t) => {
    t.string('tenant', 100).notNullable();
    t.string('entry', 200).notNullable();
    t.string('day', 10).notNullable();
    t.primary(['tenant', 'entry']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('agent_spend_keys');
}
