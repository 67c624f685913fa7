import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from '../core/errors';

/** Tools per tools/list page unless configured (MCP_TOOLS_PAGE_SIZE). */
export const DEFAULT_TOOLS_PAGE_SIZE = 500;

/** What a tools/list cursor holds: the list it belongs to and the last name its page served. */
type ToolsCursor = { l: 'tools'; a: string };

/** The cursor of a page whose last tool is `lastName`: opaque to clients (base64url JSON). */
export function encodeToolsCursor(lastName: string): string {
  const c: ToolsCursor = { l: 'tools', a: lastName };
  return encodeCursorJson(c);
}

function bad(reason: string): InvalidCursorError {
  return new InvalidCursorError(`cursor: ${reason}; pass back the nextCursor of a previous tools/list page unchanged`);
}

/**
 * The name a cursor from `encodeToolsCursor` continues after. A malformed one (garbage, cut
 * short, another list's cursor) is INVALID_CURSOR, which the MCP server answers as -32602 Invalid
 * params. Not signed: a well-formed cursor made by hand is a position like any other, in the
 * caller's own list (the page is drawn from the tools the caller sees, whatever the cursor says).
 */
export function decodeToolsCursor(raw: string): string {
  const parsed = decodeCursorJson(raw, 1000, bad);
  const c = parsed as Partial<ToolsCursor> | null;
  if (typeof c !== 'object' || c === null || Array.isArray(c) || c.l !== 'tools') throw bad('not a tools/list cursor');
  // '' is the start: the position of a first page that held only the gateway's own tools.
  if (typeof c.a !== 'string' || c.a.length > 200) throw bad('malformed position');
  return c.a;
}

/** Code-unit order: the same on every replica and platform (no locale). */
const byName = (x: Tool, y: Tool): number => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);

/** `tools` sorted by name, the order tools/list pages through. Names are unique (the catalog makes them so). */
export function sortedByName(tools: Tool[]): Tool[] {
  return [...tools].sort(byName);
}

/** Index of the first tool whose name sorts after `name` (binary search over `sorted`). */
function firstAfter(sorted: Tool[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].name <= name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One tools/list page: `lead` (the gateway's own tools) then the first of `sorted` (by name),
 * at most `size` tools in all; with `cursor`, the tools named after its position. The cursor is
 * a key, not an offset: a tool that is in the catalog from the first page to the last is listed
 * exactly once, whatever registers or goes meanwhile (tools added or removed mid-listing are
 * listed or not as their name falls before or after the position), and no tool is ever listed
 * twice in one pass.
 *
 * Requires `size >= 1` and `sorted` sorted by `sortedByName`.
 * @example toolsPage([search], sorted, 500) // → { tools: [search, …499], nextCursor: '…' }
 */
export function toolsPage(lead: Tool[], sorted: Tool[], size: number, cursor?: string): { tools: Tool[]; nextCursor?: string } {
  const start = cursor === undefined ? 0 : firstAfter(sorted, decodeToolsCursor(cursor));
  const head = cursor === undefined ? lead.slice(0, size) : [];
  const end = Math.min(sorted.length, start + size - head.length);
  const tools = [...head, ...sorted.slice(start, end)];
  if (end >= sorted.length) return { tools };
  // A first page no larger than the lead holds no catalog tool: the next one starts at the first ('' sorts before every name).
  return { tools, nextCursor: encodeToolsCursor(end > start ? sorted[end - 1].name : '') };
}
