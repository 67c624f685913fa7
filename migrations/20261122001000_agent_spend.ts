import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';

/**
 * The agents' daily spend and token totals (policy caps and LLM budgets): one row per tenant,
 * agent, meter and UTC day, the amount as a decimal string (wei overflow every SQL integer type
 * SQLite has). See SqlSpendLedger.
 */
export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'agent_spend', (t) => {
    t.string('tenant', 100).notNullable();
    t.string('agent', 200).notNullable();
    t.string('meter', 300).notNullable();
    t.string('day', 10).notNullable();
    t.string('amount', 100).notNullable();
    t.primary(['tenant', 'agent', 'meter', 'day']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('agent_spend');
}
