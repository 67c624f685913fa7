import { parseStream } from '../src/core/envelope';
import type { DocumentProjection } from './projection';
import type { McpToolRecord } from '../events/mcp.events';
import { alreadyApplied } from './stream-revision';
import { healthReasonOf } from '../events/mcp-health-reason';

export type McpServerDoc = {
  id: string;
  tenant: string;
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  command?: string;
  args?: string[];
  envKeys?: string[];
  url?: string;
  health: 'unknown' | 'up' | 'down';
  healthReason?: string;
  toolsHash?: string;
  /** Set only when this document's tools changed in memory; the stored tools are in rm_mcp_tools. */
  tools?: McpToolRecord[];
  removed: boolean;
  registeredAt: string;
  updatedAt: string;
  revision: number;
};

type D = Record<string, unknown>;

/** MCP servers and their tool catalog, one document per `mcpserver-<id>` stream. */
export const mcpServersProjection: DocumentProjection<McpServerDoc> = {
  name: 'mcp-servers',
  canHandle: (e) => e.stream.startsWith('mcpserver-') && e.type.startsWith('McpServer'),
  documentId: (e) => parseStream(e.stream).id,
  evolve(current, e) {
    if (alreadyApplied(current, e)) return current;
    const d = e.data as D;
    if (e.type === 'McpServerRegistered') {
      return {
        id: parseStream(e.stream).id,
        tenant: e.tenant,
        name: String(d.name),
        transport: d.transport as McpServerDoc['transport'],
        command: d.command as string | undefined,
        args: d.args as string[] | undefined,
        envKeys: d.envKeys as string[] | undefined,
        // A URL that refers to the environment (v6) as written: names, never values.
        url: (d.urlTemplate ?? d.url) as string | undefined,
        health: 'unknown',
        removed: false,
        registeredAt: e.occurredAt,
        updatedAt: e.occurredAt,
        revision: e.revision,
      };
    }
    if (!current) return undefined;
    const next = { ...current, updatedAt: e.occurredAt, revision: e.revision };
    switch (e.type) {
      case 'McpServerReconfigured':
        // The settings replaced whole (an absent one is no longer set); id, name, tools and health stay.
        return {
          ...next,
          transport: d.transport as McpServerDoc['transport'],
          command: d.command as string | undefined,
          args: d.args as string[] | undefined,
          envKeys: d.envKeys as string[] | undefined,
          url: (d.urlTemplate ?? d.url) as string | undefined,
        };
      case 'McpServerToolsDiscovered':
        return { ...next, tools: d.tools as McpToolRecord[], toolsHash: d.toolsHash as string };
      case 'McpServerHealthChanged':
        // v1 and v2: v2's cause in words where the reason was kept out of the log (MCP_PAYLOAD_POLICY=hash-only or encrypted).
        return { ...next, health: d.status as 'up' | 'down', healthReason: healthReasonOf(d) };
      case 'McpServerRemoved':
        return { ...next, removed: true, tools: [] };
      default:
        return next;
    }
  },
};
