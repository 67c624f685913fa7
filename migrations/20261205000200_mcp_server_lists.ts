import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';

/**
 * MySQL: a server's `args_json` and `env_keys_json` as LONGTEXT. As TEXT they held 64 KiB, but a
 * registration may carry 100 arguments of 4,000 characters (and 100 env names of 200), several
 * bytes each once encoded: projecting such a registration failed ("Data too long"), and since a
 * batch commits with the projector's checkpoint, every read model stopped behind it. SQLite's
 * TEXT has no such limit. (Rebuilt tables get LONGTEXT from src/readmodels/schema.ts.)
 */
export async function up(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  await knex.raw('ALTER TABLE ?? MODIFY args_json LONGTEXT NULL, MODIFY env_keys_json LONGTEXT NULL', [LIVE_TABLES.mcpServers]);
}

/** Nothing to undo: the shorter columns were the fault. */
export async function down(): Promise<void> {}
