import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';

/** API keys: only the SHA-256 of each key is stored (see src/auth/api-key.ts for why that suffices). */
export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'api_keys', (t) => {
    t.string('id', 36).primary();
    t.string('tenant', 100).notNullable();
    t.string('role', 20).notNullable();
    t.string('name', 100).nullable();
    t.boolean('cross_tenant').notNullable().defaultTo(false);
    t.string('prefix', 16).notNullable();
    t.string('key_hash', 66).notNullable().unique();
    t.string('created_at', 24).notNullable();
    t.string('created_by', 200).notNullable();
    t.string('revoked_at', 24).nullable();
    t.index(['tenant', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('api_keys');
}
