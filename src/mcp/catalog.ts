import type { EventContent } from '../core/envelope';
import { parseStream } from '../core/envelope';
import { uniqueTools, type McpServerLimits, type McpToolRecord } from '../../events/mcp.events';
import { aliasToolName, ALIAS_HASH_DIGITS, hostSafeToolName, namespacedToolName } from '../core/tool-name';
import { healthReasonOf } from '../../events/mcp-health-reason';
import { SHARED_TENANT, type CatalogTool, type ServerHealth, type ServerInfo, type UpstreamTransportKind } from './types';

type ServerState = Omit<ServerInfo, 'toolCount'> & { tools: CatalogTool[]; toolsHash?: string };

export const MCP_SERVER_STREAM_PREFIX = 'mcpserver-';

/**
 * What changed: `reconfigured` (McpServerReconfigured) changes how the gateway reaches a server,
 * never its tools, like `health`.
 */
export type CatalogChange = { tenant: string; serverId: string; kind: 'registered' | 'reconfigured' | 'tools' | 'health' | 'removed' };

/** What a server's stream records of it, each fact replaced whole by one kind of event. */
type ServerFact = 'settings' | 'tools' | 'health';

/**
 * The fact each kind of event replaces, ordered by revision (ToolCatalog.isLatest). Not here:
 * McpServerRegistered, the stream's first event (revision 0, before any other), and
 * McpServerRemoved, its last (every event after it, or older and read after it, finds no server).
 */
const SERVER_FACTS = new Map<string, ServerFact>([
  ['McpServerReconfigured', 'settings'],
  ['McpServerToolsDiscovered', 'tools'],
  ['McpServerHealthChanged', 'health'],
]);

/**
 * A URL recorded without a template (v1 to v5, or a reconfiguration v1 or v2) is a URL to use as
 * written, never resolved: before 2026-12-11 "${" was nothing to the gateway, and any tenant's
 * admin could register `https://their.host/?k=${env:OPENMCP_ADMIN_KEY}` (a query keeps "${" as
 * written). Its "$" percent-encoded (what the server reads is the same), so no process takes it for
 * a template (isUrlTemplate) and sends that host the gateway's variable.
 */
function literalUrl(url: string | undefined): string | undefined {
  return url?.includes('${') ? url.replaceAll('${', '%24{') : url;
}

/** A server's settings as McpServerRegistered and McpServerReconfigured record them (every absent one unset). */
function settingsOf(d: Record<string, unknown>): Pick<ServerState, 'transport' | 'command' | 'args' | 'envKeys' | 'url' | 'limits' | 'headers' | 'env' | 'egress'> {
  return {
    transport: d.transport as UpstreamTransportKind,
    command: d.command as string | undefined,
    args: d.args as string[] | undefined,
    envKeys: d.envKeys as string[] | undefined,
    // A URL that refers to the environment (v6) as written, to connect with; any other with its credentials masked.
    url: typeof d.urlTemplate === 'string' ? d.urlTemplate : literalUrl(d.url as string | undefined),
    ...(d.limits ? { limits: d.limits as McpServerLimits } : {}),
    ...(d.headers ? { headers: d.headers as Record<string, string> } : {}),
    ...(d.env ? { env: d.env as Record<string, string> } : {}),
    ...(d.egress === 'public' ? { egress: 'public' as const } : {}),
  };
}

function toCatalogTool(serverId: string, server: string, t: McpToolRecord): CatalogTool {
  return {
    name: hostSafeToolName(server, t.name),
    namespacedName: namespacedToolName(server, t.name),
    serverId,
    server,
    upstreamName: t.name,
    title: t.title,
    description: t.description,
    inputSchema: JSON.parse(t.inputSchemaJson) as Record<string, unknown>,
    outputSchema: t.outputSchemaJson ? (JSON.parse(t.outputSchemaJson) as Record<string, unknown>) : undefined,
    annotations: {
      readOnlyHint: t.readOnlyHint,
      idempotentHint: t.idempotentHint,
      destructiveHint: t.destructiveHint,
      openWorldHint: t.openWorldHint,
    },
    ...(t.icons ? { icons: t.icons } : {}),
    ...(t.metaJson ? { meta: JSON.parse(t.metaJson) as Record<string, unknown> } : {}),
  };
}

/**
 * The tools with every `name` distinct. Host-safe namespaced names are kept as they are; an alias
 * taken already (by such a name or an earlier alias, however unlikely with 32 bits of digest) gets
 * 8 more digest digits until it is free. The order of `tools` is the log's (servers in order of
 * registration, each one's tools in its discovery's order), so every replica picks the same names.
 */
function uniqueNames(tools: CatalogTool[]): CatalogTool[] {
  const taken = new Set(tools.filter((t) => t.name === t.namespacedName).map((t) => t.name));
  return tools.map((t) => {
    if (t.name === t.namespacedName) return t;
    let name = t.name;
    for (let digits = ALIAS_HASH_DIGITS + 8; taken.has(name) && digits <= 56; digits += 8) name = aliasToolName(t.server, t.upstreamName, digits);
    taken.add(name);
    return name === t.name ? t : { ...t, name };
  });
}

/**
 * The catalog read model: servers and their tools per tenant, evolved from the `mcpserver-<id>`
 * events and held in memory, so tools/list never waits on an upstream. Applying an event twice
 * is harmless (events are deduplicated by id).
 */
export class ToolCatalog {
  private readonly servers = new Map<string, ServerState>();
  private readonly seen = new Set<string>();
  private readonly listCache = new Map<string, { list: CatalogTool[]; byName: Map<string, CatalogTool> }>();
  private readonly listeners = new Set<(c: CatalogChange) => void>();
  /** Names (tenant/name) whose last server was removed by someone other than the system, and not registered since. */
  private readonly removedByAdmin = new Set<string>();
  /** Servers removed (McpServerRemoved), by id: an id is never registered again (a name's next server takes a new one). */
  private readonly removed = new Map<string, { tenant: string; name: string }>();
  /** Per server id: the actor id of the system that recorded its current health (the gateway replica that observed it). */
  private readonly healthObservers = new Map<string, string>();
  /** Per server id: the revision of the last event of its stream applied here (events read from the log carry it). */
  private readonly revisions = new Map<string, number>();
  /**
   * Per server id: the revision of the event that set each of its facts here. A replica applies its
   * own appends at once and the others' as it follows the log, so another replica's older change of
   * a fact may come after its own newer one: it changes nothing (the fact is the log's latest).
   */
  private readonly factRevisions = new Map<string, Map<ServerFact, number>>();

  /** Apply one registry event; returns true when it changed the catalog. */
  apply(event: EventContent): boolean {
    if (!event.stream.startsWith(MCP_SERVER_STREAM_PREFIX) || this.seen.has(event.id)) return false;
    this.seen.add(event.id);
    const id = parseStream(event.stream).id;
    const revision = (event as { revision?: unknown }).revision;
    if (typeof revision === 'number' && revision > (this.revisions.get(id) ?? -1)) this.revisions.set(id, revision);
    const s = this.servers.get(id);
    const fact = SERVER_FACTS.get(event.type);
    if (s && fact && !this.isLatest(id, fact, revision)) return false;
    const d = event.data as Record<string, unknown>;
    let kind: CatalogChange['kind'];
    switch (event.type) {
      case 'McpServerRegistered':
        this.removedByAdmin.delete(`${event.tenant}/${d.name as string}`);
        this.servers.set(id, {
          id,
          tenant: event.tenant,
          name: d.name as string,
          ...settingsOf(d),
          health: 'unknown',
          registeredAt: event.occurredAt,
          tools: [],
        });
        kind = 'registered';
        break;
      case 'McpServerReconfigured': {
        if (!s) return false;
        // The settings are replaced whole; the id, name, tools and health stay (the tools are served until the next discovery).
        const { tools, toolsHash, health, healthReason, registeredAt } = s;
        this.servers.set(id, {
          id,
          tenant: s.tenant,
          name: s.name,
          ...settingsOf(d),
          health,
          ...(healthReason !== undefined ? { healthReason } : {}),
          registeredAt,
          tools,
          ...(toolsHash !== undefined ? { toolsHash } : {}),
        });
        kind = 'reconfigured';
        break;
      }
      case 'McpServerToolsDiscovered':
        if (!s) return false;
        s.tools = uniqueTools(d.tools as McpToolRecord[]).map((t) => toCatalogTool(id, s.name, t));
        s.toolsHash = d.toolsHash as string;
        kind = 'tools';
        break;
      case 'McpServerHealthChanged':
        if (!s) return false;
        s.health = d.status as ServerHealth;
        s.healthReason = healthReasonOf(d);
        if (event.actor.kind === 'system') this.healthObservers.set(id, event.actor.id);
        else this.healthObservers.delete(id);
        kind = 'health';
        break;
      case 'McpServerRemoved':
        // Recorded in the server's own tenant; kept even when its registration was not seen here.
        this.removed.set(id, { tenant: s?.tenant ?? event.tenant, name: s?.name ?? (d.name as string) });
        if (!s) return false;
        // The system removed a server only to register it again changed (ensureServer before McpServerReconfigured): not a removal that should stick.
        if (event.actor.kind !== 'system') this.removedByAdmin.add(`${s.tenant}/${s.name}`);
        this.servers.delete(id);
        this.healthObservers.delete(id);
        this.factRevisions.delete(id);
        kind = 'removed';
        break;
      default:
        return false;
    }
    const tenant = s?.tenant ?? event.tenant;
    if (kind !== 'health' && kind !== 'reconfigured') {
      if (tenant === SHARED_TENANT) this.listCache.clear();
      else this.listCache.delete(tenant);
    }
    for (const l of this.listeners) l({ tenant, serverId: id, kind });
    return true;
  }

  /**
   * Whether an event at `revision` sets server `id`'s `fact` as the log's latest change of it seen
   * here (then recorded), or is older than the one that set it. An event without a revision (not
   * read from a store) is applied in the order given.
   */
  private isLatest(id: string, fact: ServerFact, revision: unknown): boolean {
    if (typeof revision !== 'number') return true;
    let facts = this.factRevisions.get(id);
    if (!facts) this.factRevisions.set(id, (facts = new Map()));
    if (revision < (facts.get(fact) ?? -1)) return false;
    facts.set(fact, revision);
    return true;
  }

  onChange(listener: (c: CatalogChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Servers a tenant sees: its own, plus shared ones whose name it does not use itself. */
  visibleServers(tenant: string): ServerState[] {
    const own = [...this.servers.values()].filter((s) => s.tenant === tenant);
    const names = new Set(own.map((s) => s.name));
    const shared = tenant === SHARED_TENANT ? [] : [...this.servers.values()].filter((s) => s.tenant === SHARED_TENANT && !names.has(s.name));
    return [...own, ...shared];
  }

  listServers(tenant: string): ServerInfo[] {
    return this.visibleServers(tenant).map(({ tools, toolsHash: _h, ...info }) => ({ ...info, toolCount: tools.length }));
  }

  server(id: string): ServerState | undefined {
    return this.servers.get(id);
  }

  serverByName(tenant: string, name: string): ServerState | undefined {
    return [...this.servers.values()].find((s) => s.tenant === tenant && s.name === name);
  }

  /** A server that was removed (by anyone), with its tenant and name; undefined for one live or never seen. */
  removedServer(id: string): { tenant: string; name: string } | undefined {
    return this.servers.has(id) ? undefined : this.removed.get(id);
  }

  /**
   * Who recorded server `id`'s current health: the actor id of the gateway replica that observed
   * it (`mcp-gateway:<host>:<pid>:<random>`; `mcp-gateway` before replicas were named), or undefined.
   */
  healthObserver(id: string): string | undefined {
    return this.healthObservers.get(id);
  }

  /** The revision of the last event of server `id`'s stream applied here, if any carried one. */
  revisionOf(id: string): number | undefined {
    return this.revisions.get(id);
  }

  /** Whether an admin removed the last server of this name (McpServerRemoved by a user) and none was registered since. */
  wasRemoved(tenant: string, name: string): boolean {
    return this.removedByAdmin.has(`${tenant}/${name}`);
  }

  allServers(): ServerState[] {
    return [...this.servers.values()];
  }

  /** The tenant's tools; cached until the catalog changes, so repeated tools/list and lookups are cheap. */
  listTools(tenant: string): CatalogTool[] {
    return this.entry(tenant).list;
  }

  findTool(tenant: string, name: string): CatalogTool | undefined {
    return this.entry(tenant).byName.get(name);
  }

  private entry(tenant: string): { list: CatalogTool[]; byName: Map<string, CatalogTool> } {
    let e = this.listCache.get(tenant);
    if (!e) {
      const list = uniqueNames(this.visibleServers(tenant).flatMap((s) => s.tools));
      const byName = new Map(list.map((t) => [t.name, t]));
      // The exact namespaced name of an aliased tool is still callable (as before aliases), unless another tool has it.
      for (const t of list) if (!byName.has(t.namespacedName)) byName.set(t.namespacedName, t);
      e = { list, byName };
      this.listCache.set(tenant, e);
    }
    return e;
  }
}
