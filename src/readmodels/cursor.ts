import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from '../core/errors';

/** Keyset position in the task list: newest first, ties broken by id. */
export type TaskCursor = { createdAt: string; id: string };

/**
 * Keyset position in the tool-call list: newest request first, ties broken by id; calls without
 * a request time (`requestedAt: null`, their request never projected) come last, by id.
 */
export type ToolCallCursor = { requestedAt: string | null; id: string; reading?: ToolReading };

/**
 * How a list's `tool` filter was read on its first page (`served`: the tool the catalog, or the
 * calls recorded under an alias, resolved it to; null: none), kept in its cursors so that every
 * page reads it so, whatever the catalog serves by then.
 */
export type ToolReading = { tool: string; served: { server: string; tool: string } | null };

const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The tool-call list's tag: a task-list cursor (untagged, the format clients already hold) is refused there. */
const TOOL_CALLS = 'tool-calls';

export function encodeTaskCursor(c: TaskCursor): string {
  return encodeCursorJson({ c: c.createdAt, i: c.id });
}

export function encodeToolCallCursor(c: ToolCallCursor): string {
  const r = c.reading;
  return encodeCursorJson({ l: TOOL_CALLS, c: c.requestedAt, i: c.id, ...(r ? { t: r.tool, s: r.served && [r.served.server, r.served.tool] } : {}) });
}

function bad(reason: string): InvalidCursorError {
  return new InvalidCursorError(`cursor: ${reason}; pass back the nextCursor of a previous page unchanged`);
}

/**
 * A `{l?, c, i}` keyset cursor from a client: list tag `list` (none for the task list), time `c`
 * (null allowed when `nullableTime`), id `i`. Anything else is INVALID_CURSOR naming `cursor`
 * (HTTP 400, as on every other list), never a 500.
 */
function decodeKey(raw: string, list: string | undefined, nullableTime: boolean, maxChars = 600): { at: string | null; id: string; rest: Record<string, unknown> } {
  const parsed = decodeCursorJson(raw, maxChars, bad);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('malformed');
  const p = parsed as { l?: unknown; c?: unknown; i?: unknown };
  if (p.l !== list) throw bad('not a cursor of this list');
  if (!(nullableTime && p.c === null) && (typeof p.c !== 'string' || !ISO_MS_RE.test(p.c))) throw bad('malformed time');
  if (typeof p.i !== 'string' || p.i.length === 0 || p.i.length > 200) throw bad('malformed id');
  return { at: p.c as string | null, id: p.i, rest: p };
}

/** Decode a task-list cursor (exactly what `encodeTaskCursor` produces). */
export function decodeTaskCursor(raw: string): TaskCursor {
  const k = decodeKey(raw, undefined, false);
  return { createdAt: k.at as string, id: k.id };
}

/** Decode a tool-call-list cursor (exactly what `encodeToolCallCursor` produces). */
export function decodeToolCallCursor(raw: string): ToolCallCursor {
  // Room for a reading: `tool` is at most 200 characters, a served name's two parts no longer.
  const k = decodeKey(raw, TOOL_CALLS, true, 4096);
  const { t, s } = k.rest as { t?: unknown; s?: unknown };
  if (t === undefined && s === undefined) return { requestedAt: k.at, id: k.id };
  const part = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 1000;
  if (!part(t) || !(s === null || (Array.isArray(s) && s.length === 2 && s.every(part)))) throw bad('malformed tool reading');
  const served = s === null ? null : { server: (s as string[])[0], tool: (s as string[])[1] };
  return { requestedAt: k.at, id: k.id, reading: { tool: t as string, served } };
}
