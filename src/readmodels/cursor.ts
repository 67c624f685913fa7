import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from '../core/errors';

/** Keyset position in the task list: newest first, ties broken by id. */
export type TaskCursor = { createdAt: string; id: string };

/**
 * Keyset position in the tool-call list: newest request first, ties broken by id; calls without
 * a request time (`requestedAt: null`, their request never projected) come last, by id.
 */
export type ToolCallCursor = { requestedAt: string | null; id: string };

const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The tool-call list's tag: a task-list cursor (untagged, the format clients already hold) is refused there. */
const TOOL_CALLS = 'tool-calls';

export function encodeTaskCursor(c: TaskCursor): string {
  return encodeCursorJson({ c: c.createdAt, i: c.id });
}

export function encodeToolCallCursor(c: ToolCallCursor): string {
  return encodeCursorJson({ l: TOOL_CALLS, c: c.requestedAt, i: c.id });
}

function bad(reason: string): InvalidCursorError {
  return new InvalidCursorError(`cursor: ${reason}; pass back the nextCursor of a previous page unchanged`);
}

/**
 * A `{l?, c, i}` keyset cursor from a client: list tag `list` (none for the task list), time `c`
 * (null allowed when `nullableTime`), id `i`. Anything else is INVALID_CURSOR naming `cursor`
 * (HTTP 400, as on every other list), never a 500.
 */
function decodeKey(raw: string, list: string | undefined, nullableTime: boolean): { at: string | null; id: string } {
  const parsed = decodeCursorJson(raw, 600, bad);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('malformed');
  const p = parsed as { l?: unknown; c?: unknown; i?: unknown };
  if (p.l !== list) throw bad('not a cursor of this list');
  if (!(nullableTime && p.c === null) && (typeof p.c !== 'string' || !ISO_MS_RE.test(p.c))) throw bad('malformed time');
  if (typeof p.i !== 'string' || p.i.length === 0 || p.i.length > 200) throw bad('malformed id');
  return { at: p.c as string | null, id: p.i };
}

/** Decode a task-list cursor (exactly what `encodeTaskCursor` produces). */
export function decodeTaskCursor(raw: string): TaskCursor {
  const k = decodeKey(raw, undefined, false);
  return { createdAt: k.at as string, id: k.id };
}

/** Decode a tool-call-list cursor (exactly what `encodeToolCallCursor` produces). */
export function decodeToolCallCursor(raw: string): ToolCallCursor {
  const k = decodeKey(raw, TOOL_CALLS, true);
  return { requestedAt: k.at, id: k.id };
}
