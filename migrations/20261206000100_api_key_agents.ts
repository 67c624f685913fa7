import type { Knex } from 'knex';

/**
 * `api_keys.agents_json`: the agent ids a key may act as, as a JSON array; null = any agent of its
 * tenant, as every key made before this could (so those keep working as they did). TEXT holds the
 * largest list (100 ids of 200 characters) on MySQL too. Added empty, no table copy.
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('api_keys', 'agents_json')) return;
  await knex.schema.alterTable('api_keys', (t) => t.text('agents_json').nullable());
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('api_keys', 'agents_json')) await knex.schema.alterTable('api_keys', (t) => t.dropColumn('agents_json'));
}
