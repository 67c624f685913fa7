import type { Knex } from 'knex';
import { indexesByColumns } from '../src/db/index-names';

/** The unique index that lets one key at most hold an Idempotency-Key (several NULLs are allowed, on MySQL as on SQLite). */
const IDEMPOTENCY_INDEX = ['idempotency_key'];

/**
 * `api_keys.idempotency_key` and `idempotency_request`: the SHA-256 digests of the tenant and
 * `Idempotency-Key` a `POST /v1/keys` was sent with, and of what it asked (src/auth/key-idempotency.ts),
 * so a retry finds the key its lost answer issued instead of issuing a second. Digests only: never
 * the client's key, nothing of the secret. Two empty columns (no table copy: keys made before have
 * none) and a unique index; a key let go unissued gives its digest up (set NULL).
 */
export async function up(knex: Knex): Promise<void> {
  for (const column of ['idempotency_key', 'idempotency_request']) {
    if (!(await knex.schema.hasColumn('api_keys', column))) await knex.schema.alterTable('api_keys', (t) => t.string(column, 66).nullable());
  }
  if (!(await indexesByColumns(knex, 'api_keys')).has(IDEMPOTENCY_INDEX.join(','))) {
    await knex.schema.alterTable('api_keys', (t) => t.unique(IDEMPOTENCY_INDEX));
  }
}

export async function down(knex: Knex): Promise<void> {
  const name = (await indexesByColumns(knex, 'api_keys')).get(IDEMPOTENCY_INDEX.join(','));
  if (name !== undefined) await knex.schema.alterTable('api_keys', (t) => t.dropUnique(IDEMPOTENCY_INDEX, name));
  for (const column of ['idempotency_key', 'idempotency_request']) {
    if (await knex.schema.hasColumn('api_keys', column)) await knex.schema.alterTable('api_keys', (t) => t.dropColumn(column));
  }
}
