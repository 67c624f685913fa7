import { documentApplier, type DocumentStore } from './document-applier';
import { jsonOrNull, orUndefined, parseJson, upsertRows } from './sql-rows';
import { uniqueTools } from '../events/mcp.events';
import { mcpServersProjection, type McpServerDoc } from './mcp-servers.projection';
import { chunks } from './sql-rows';
import { statementChunks } from '../src/db/statement-chunks';

type Row = Record<string, unknown>;

function fromRow(r: Row): McpServerDoc {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    name: String(r.name),
    transport: r.transport as McpServerDoc['transport'],
    command: orUndefined(r.command as string | null),
    args: parseJson(r.args_json),
    envKeys: parseJson(r.env_keys_json),
    url: orUndefined(r.url as string | null),
    health: r.health as McpServerDoc['health'],
    healthReason: orUndefined(r.health_reason as string | null),
    toolsHash: orUndefined(r.tools_hash as string | null),
    removed: Boolean(r.removed),
    registeredAt: String(r.registered_at),
    updatedAt: String(r.updated_at),
    revision: Number(r.revision),
  };
}

function toRow(d: McpServerDoc): Row {
  return {
    id: d.id,
    tenant: d.tenant,
    name: d.name,
    transport: d.transport,
    command: d.command ?? null,
    args_json: jsonOrNull(d.args),
    env_keys_json: jsonOrNull(d.envKeys),
    url: d.url ?? null,
    health: d.health,
    health_reason: d.healthReason ?? null,
    tools_hash: d.toolsHash ?? null,
    removed: d.removed,
    registered_at: d.registeredAt,
    updated_at: d.updatedAt,
    revision: d.revision,
  };
}

/** Servers in `rm_mcp_servers`; a server's tools are replaced as a whole in `rm_mcp_tools`. */
export const mcpServerSqlStore: DocumentStore<McpServerDoc> = {
  async load(db, t, ids) {
    const out = new Map<string, McpServerDoc>();
    if (ids.length) for (const r of await db(t.mcpServers).whereIn('id', ids)) out.set(String(r.id), fromRow(r));
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.mcpServers, 'id', changes.map((c) => toRow(c.doc)));
    const replaced = changes.filter((c) => c.doc.tools !== undefined);
    for (const part of chunks(replaced.map((c) => c.id))) await db(t.mcpTools).whereIn('server_id', part).delete();
    const rows = replaced.flatMap((c) =>
      uniqueTools(c.doc.tools!).map((tool) => ({
        server_id: c.id,
        name: tool.name,
        tenant: c.doc.tenant,
        server: c.doc.name,
        title: tool.title ?? null,
        description: tool.description ?? null,
        input_schema_json: tool.inputSchemaJson,
        output_schema_json: tool.outputSchemaJson ?? null,
        annotations_json: JSON.stringify({
          readOnlyHint: tool.readOnlyHint,
          idempotentHint: tool.idempotentHint,
          destructiveHint: tool.destructiveHint,
          openWorldHint: tool.openWorldHint,
        }),
        icons_json: jsonOrNull(tool.icons),
        meta_json: tool.metaJson ?? null,
      })),
    );
    for (const part of statementChunks(rows)) await db(t.mcpTools).insert(part);
  },
  async delete(db, t, ids) {
    for (const part of chunks(ids)) {
      await db(t.mcpTools).whereIn('server_id', part).delete();
      await db(t.mcpServers).whereIn('id', part).delete();
    }
  },
  touch(doc, touched) {
    touched.catalogTenants.add(doc.tenant);
  },
};

export const mcpServersApplier = documentApplier(mcpServersProjection, mcpServerSqlStore);
