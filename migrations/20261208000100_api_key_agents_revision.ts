import type { Knex } from 'knex';

/**
 * `api_keys.agents_revision`: the revision of the key's stream (`apikey-<id>`) that agents_json
 * reflects once an admin changed it (ApiKeyAgentsChanged, PATCH /v1/keys/:id); null = as created.
 * Two changes written at once end with the newer one, whichever write comes last. Added empty, no
 * table copy: no key was changed before.
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('api_keys', 'agents_revision')) return;
  await knex.schema.alterTable('api_keys', (t) => t.integer('agents_revision').nullable());
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('api_keys', 'agents_revision')) await knex.schema.alterTable('api_keys', (t) => t.dropColumn('agents_revision'));
}
