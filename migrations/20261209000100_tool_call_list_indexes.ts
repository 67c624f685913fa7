import type { Knex } from 'knex';
import { indexesByColumns } from '../src/db/index-names';
import { LIVE_TABLES } from '../projections/tables';
import { TOOL_CALL_LIST_INDEXES } from '../src/readmodels/schema';

/**
 * `rm_tool_calls` gets the indexes behind GET /v1/tool-calls' filters (server, tool, status; each
 * with the list's order, newest request first). On MySQL/MariaDB InnoDB builds them in place while
 * calls keep being recorded; a large table takes a while on the first start after the upgrade.
 * A database created after this change has them from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  const have = await indexesByColumns(knex, table);
  for (const columns of TOOL_CALL_LIST_INDEXES) {
    if (!have.has(columns.join(','))) await knex.schema.alterTable(table, (t) => t.index([...columns]));
  }
}

export async function down(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  const have = await indexesByColumns(knex, table);
  for (const columns of TOOL_CALL_LIST_INDEXES) {
    // By its own name: knex's default name is not that of an index a rebuild created.
    const name = have.get(columns.join(','));
    if (name !== undefined) await knex.schema.alterTable(table, (t) => t.dropIndex([...columns], name));
  }
}
