import type { Knex } from 'knex';
import { indexesByColumns } from '../src/db/index-names';

/** The sweep's read: keys still being issued, oldest first (src/auth/settle-unissued-keys.ts). */
const ISSUING_INDEX = ['issuing', 'created_at'];

/**
 * `api_keys.issuing`: true from the insert of a key's row (counted against MAX_API_KEYS_PER_TENANT)
 * until its ApiKeyCreated is recorded and the key handed out; such a row never authenticates and is
 * not listed, and one left so by a killed process or a failure is let go by the sweep every API
 * process runs. One column with a default (no table copy: every key made before was handed out)
 * and its index.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('api_keys', 'issuing'))) {
    await knex.schema.alterTable('api_keys', (t) => t.boolean('issuing').notNullable().defaultTo(false));
  }
  if (!(await indexesByColumns(knex, 'api_keys')).has(ISSUING_INDEX.join(','))) {
    await knex.schema.alterTable('api_keys', (t) => t.index(ISSUING_INDEX));
  }
}

export async function down(knex: Knex): Promise<void> {
  const name = (await indexesByColumns(knex, 'api_keys')).get(ISSUING_INDEX.join(','));
  if (name !== undefined) await knex.schema.alterTable('api_keys', (t) => t.dropIndex(ISSUING_INDEX, name));
  if (await knex.schema.hasColumn('api_keys', 'issuing')) await knex.schema.alterTable('api_keys', (t) => t.dropColumn('issuing'));
}
