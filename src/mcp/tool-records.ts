import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { MCP_TOOL_LIMITS, McpToolIconSchema, McpToolRecordV2Schema, type McpToolIcon, type McpToolRecord } from '../../events/mcp.events';
import { MAX_EVENT_BYTES } from '../core/envelope';
import { payloadDigest } from './payload-hash';
import { cutText } from '../core/well-formed';
import { bodyDepth, MAX_RESULT_DEPTH } from '../core/body-depth';

/** Room for the records in one McpServerToolsDiscovered event (the rest of the envelope is small). */
export const TOOL_LIST_BYTES = MAX_EVENT_BYTES - 64 * 1024;

/** A tool of the upstream's list that the catalog leaves out, and why. */
export type SkippedTool = { name: string; why: string };

const clip = cutText;

function toRecord(t: Tool): McpToolRecord {
  const a = t.annotations ?? {};
  const r: McpToolRecord = { name: t.name, inputSchemaJson: payloadDigest(t.inputSchema).json };
  const title = t.title ?? a.title;
  if (title) r.title = clip(title, MCP_TOOL_LIMITS.title);
  if (t.description) r.description = clip(t.description, MCP_TOOL_LIMITS.description);
  if (t.outputSchema) r.outputSchemaJson = payloadDigest(t.outputSchema).json;
  for (const k of ['readOnlyHint', 'idempotentHint', 'destructiveHint', 'openWorldHint'] as const) {
    if (typeof a[k] === 'boolean') r[k] = a[k];
  }
  const icons = iconsOf(t.icons);
  if (icons.length) r.icons = icons;
  // Opaque to the gateway, passed on as the upstream gave it (canonical JSON: it may hold floats).
  if (t._meta && Object.keys(t._meta).length) {
    const json = payloadDigest(t._meta).json;
    if (json.length <= MCP_TOOL_LIMITS.metaJson) r.metaJson = json;
  }
  return r;
}

/**
 * The icons the record keeps: those the log can hold (an http(s) URL or a data:image/ URI within
 * MCP_TOOL_LIMITS.iconSrc, a bounded mimeType and sizes), the first MCP_TOOL_LIMITS.icons of them.
 * Another scheme (javascript:, file:…) is left out: the client would load it from our listing.
 */
function iconsOf(icons: unknown): McpToolIcon[] {
  if (!Array.isArray(icons)) return [];
  const out: McpToolIcon[] = [];
  for (const i of icons) {
    if (out.length >= MCP_TOOL_LIMITS.icons) break;
    const icon = McpToolIconSchema.safeParse(i && typeof i === 'object' ? pickIcon(i as Record<string, unknown>) : i);
    if (icon.success) out.push(icon.data);
  }
  return out;
}

/** The Icon fields MCP defines (an upstream may send more; the strict record holds only these). */
function pickIcon(i: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['src', 'mimeType', 'sizes', 'theme']) if (i[k] !== undefined) out[k] = i[k];
  return out;
}

/**
 * An upstream's tools as the log records them (McpServerToolsDiscovered). One bad tool must not
 * cost the server its others, nor stop the read models: a second tool of the same name is left
 * out (the first is kept; a table keyed by name could not hold both), so is a tool the record
 * cannot hold (an empty or over-long name, one with a lone UTF-16 surrogate, a schema over the size limit, one nested deeper than MAX_RESULT_DEPTH) and any beyond the
 * per-server limit or the room of one event (TOOL_LIST_BYTES, in list order); an over-long title
 * or description is cut to its limit, an icon the record cannot hold is left out (the others
 * kept), and so is a `_meta` over MCP_TOOL_LIMITS.metaJson.
 */
export function toolRecords(tools: Tool[]): { records: McpToolRecord[]; skipped: SkippedTool[] } {
  const records: McpToolRecord[] = [];
  const skipped: SkippedTool[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const t of tools) {
    const name = clip(String(t.name), MCP_TOOL_LIMITS.name + 20);
    if (seen.has(t.name)) {
      skipped.push({ name, why: 'listed twice: the first is kept' });
      continue;
    }
    if (records.length >= MCP_TOOL_LIMITS.tools) {
      skipped.push({ name, why: `more than ${MCP_TOOL_LIMITS.tools} tools` });
      continue;
    }
    // Its name is how the upstream is called: made well-formed it would name no tool (see wellFormedTool).
    if (!String(t.name).isWellFormed()) {
      skipped.push({ name: name.toWellFormed(), why: 'name: a lone UTF-16 surrogate, not Unicode text, which the log needs (RFC 8785 hashes UTF-8)' });
      continue;
    }
    // Before anything recursive reads it (its schemas are hashed, RFC 8785, which would exhaust the stack).
    if (bodyDepth(t, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH) {
      skipped.push({ name, why: `nests deeper than ${MAX_RESULT_DEPTH} levels, more than the log can hash` });
      continue;
    }
    const r = toRecord(t);
    const check = McpToolRecordV2Schema.safeParse(r);
    if (!check.success) {
      const issue = check.error.issues[0];
      skipped.push({ name, why: `${issue.path.join('.')}: ${issue.message}` });
      continue;
    }
    const size = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (bytes + size > TOOL_LIST_BYTES) {
      skipped.push({ name, why: `the tool list is over ${TOOL_LIST_BYTES} bytes, the room of one event` });
      continue;
    }
    bytes += size;
    seen.add(t.name);
    records.push(r);
  }
  return { records, skipped };
}
