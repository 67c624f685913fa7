import type { Knex } from 'knex';
import { createCacheEpochTable } from '../src/readmodels/cache-epoch';
import { CACHE_EPOCH_TABLE } from '../projections/tables';

/**
 * The read cache's epoch (src/readmodels/cache-epoch.ts): one row, starting at 0, whose keys are
 * those of the releases before it, so the entries they cached stay in use.
 */
export async function up(knex: Knex): Promise<void> {
  await createCacheEpochTable(knex, CACHE_EPOCH_TABLE);
  await knex(CACHE_EPOCH_TABLE).insert({ id: 1, epoch: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(CACHE_EPOCH_TABLE);
}
