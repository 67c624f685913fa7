import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { LIVE_TABLES } from '../projections/tables';

const COLUMNS = ['icons_json', 'meta_json'];

/**
 * `rm_mcp_tools` gets each tool's `icons` and `_meta` (McpServerToolsDiscovered v2 carries them;
 * the projection dropped them). Added empty: a server's tools already there fill in when its
 * tools next change (a discovery finding the same tools records nothing: McpGateway.discovered),
 * or at once with `openmcp projections rebuild mcp-servers` (docs/operations.md).
 * A database created after this change has them from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.mcpTools;
  for (const column of COLUMNS) {
    if (await knex.schema.hasColumn(table, column)) continue;
    await knex.schema.alterTable(table, (t) => {
      if (dialectOf(knex) === 'mysql') t.specificType(column, 'LONGTEXT');
      else t.text(column);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.mcpTools;
  for (const column of COLUMNS) if (await knex.schema.hasColumn(table, column)) await knex.schema.alterTable(table, (t) => t.dropColumn(column));
}
