import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';
import { TOOL_CALL_LIST_INDEXES } from '../src/readmodels/schema';

/** The table's indexes by column list (`a,b,c`) to their names, whatever those are (a rebuilt table keeps its `__r<n>` ones). */
async function indexedColumns(knex: Knex, table: string): Promise<Map<string, string>> {
  const rows: { name: string; col: string }[] =
    dialectOf(knex) === 'mysql'
      ? (await knex.raw('SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX', [table]))[0]
      : await knex.raw('SELECT il.name AS name, ii.name AS col FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii ORDER BY il.name, ii.seqno', [table]);
  const byIndex = new Map<string, string[]>();
  for (const r of rows) byIndex.set(r.name, [...(byIndex.get(r.name) ?? []), r.col]);
  return new Map([...byIndex].map(([name, cols]) => [cols.join(','), name]));
}

/**
 * `rm_tool_calls` gets the indexes behind GET /v1/tool-calls' filters (server, tool, status; each
 * with the list's order, newest request first). On MySQL/MariaDB InnoDB builds them in place while
 * calls keep being recorded; a large table takes a while on the first start after the upgrade.
 * A database created after this change has them from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  const have = await indexedColumns(knex, table);
  for (const columns of TOOL_CALL_LIST_INDEXES) {
    if (!have.has(columns.join(','))) await knex.schema.alterTable(table, (t) => t.index([...columns]));
  }
}

export async function down(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.toolCalls;
  const have = await indexedColumns(knex, table);
  for (const columns of TOOL_CALL_LIST_INDEXES) {
    // By its own name: knex's default name is not that of an index a rebuild created.
    const name = have.get(columns.join(','));
    if (name !== undefined) await knex.schema.alterTable(table, (t) => t.dropIndex([...columns], name));
  }
}
