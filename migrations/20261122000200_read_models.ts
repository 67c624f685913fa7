import type { Knex } from 'knex';
import { createCheckpointTable, projectionSchemas } from '../src/readmodels/schema';
import { CHECKPOINT_TABLE, LIVE_TABLES } from '../projections/tables';

/**
 * Read models (tasks and steps, tool calls, the audit log, batches, MCP servers and tools) and
 * the projections' checkpoints. The definitions live in src/readmodels/schema.ts because
 * `openmcp projections rebuild` creates the same tables under fresh names.
 * Inferences, transactions and policy decisions get their tables with their events.
 */
export async function up(knex: Knex): Promise<void> {
  for (const s of Object.values(projectionSchemas)) await s.create(knex, LIVE_TABLES);
  await createCheckpointTable(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(CHECKPOINT_TABLE);
  for (const name of Object.values(LIVE_TABLES).reverse()) await knex.schema.dropTableIfExists(name);
}
