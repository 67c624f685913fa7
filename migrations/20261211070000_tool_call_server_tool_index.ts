import type { Knex } from 'knex';
import { indexesByColumns } from '../src/db/index-names';
import { LIVE_TABLES } from '../projections/tables';
import { TOOL_CALL_SERVER_TOOL_INDEX } from '../src/readmodels/schema';

/**
 * `rm_tool_calls` gets (tenant, server, tool), behind `GET /v1/tool-calls?tool=` given an alias the
 * gateway no longer serves: the tools of the tenant's calls to that server are read from it alone
 * (without it, every call of the server was read, for any alias-shaped name a caller sends). On
 * MySQL/MariaDB InnoDB builds it in place while calls keep being recorded. A database created
 * after this change has it from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  if (!(await indexesByColumns(knex, table)).has(TOOL_CALL_SERVER_TOOL_INDEX.join(','))) {
    await knex.schema.alterTable(table, (t) => t.index([...TOOL_CALL_SERVER_TOOL_INDEX]));
  }
}

export async function down(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  // By its own name: knex's default name is not that of an index a rebuild created.
  const name = (await indexesByColumns(knex, table)).get(TOOL_CALL_SERVER_TOOL_INDEX.join(','));
  if (name !== undefined) await knex.schema.alterTable(table, (t) => t.dropIndex([...TOOL_CALL_SERVER_TOOL_INDEX], name));
}
