import type { Knex } from 'knex';
import { parseJson } from '../../projections/sql-rows';
import type { McpToolIcon } from '../../events/mcp.events';
import type { ToolCatalogEntry } from './port';
import type { ReadModelTables } from '../../projections/tables';
import { hostSafeToolName } from '../core/tool-name';

/** Tools of the live (not removed) servers registered under exactly `tenant` (no "*" merge). */
export async function loadToolCatalog(db: Knex, t: ReadModelTables, tenant: string): Promise<ToolCatalogEntry[]> {
  const rows = await db(`${t.mcpTools} as tl`)
    .join(`${t.mcpServers} as s`, 's.id', 'tl.server_id')
    .where('s.tenant', tenant)
    .where('s.removed', false)
    .orderBy(['tl.server', 'tl.name'])
    .select('tl.*', 's.health');
  return rows.map((r) => {
    const e: ToolCatalogEntry = {
      // What clients call (the host-safe alias for a name LLM hosts refuse), as the gateway's catalog serves it.
      name: hostSafeToolName(r.server, r.name),
      serverId: r.server_id,
      server: r.server,
      upstreamName: r.name,
      tenant: r.tenant,
      health: r.health,
      inputSchema: JSON.parse(r.input_schema_json),
    };
    if (r.title !== null) e.title = r.title;
    if (r.description !== null) e.description = r.description;
    const out = parseJson<Record<string, unknown>>(r.output_schema_json);
    if (out) e.outputSchema = out;
    const ann = parseJson<Record<string, boolean | undefined>>(r.annotations_json);
    if (ann && Object.keys(ann).length) e.annotations = ann;
    const icons = parseJson<McpToolIcon[]>(r.icons_json);
    if (icons) e.icons = icons;
    const meta = parseJson<Record<string, unknown>>(r.meta_json);
    if (meta) e.meta = meta;
    return e;
  });
}
