import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from '../core/errors';

/**
 * Keyset position in the tool-call list: newest request first, ties broken by id; calls without
 * a request time (`requestedAt: null`, their request never projected) come last, by id.
 */
export type ToolCallCursor = { requestedAt: string | null; id: string };

const LIST = 'tool-calls';
const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Tagged with the list, so a task-list cursor (same encoding) is refused here. */
export function encodeToolCallCursor(c: ToolCallCursor): string {
  return encodeCursorJson({ l: LIST, c: c.requestedAt, i: c.id });
}

function bad(reason: string): InvalidCursorError {
  return new InvalidCursorError(`cursor: ${reason}; pass back the nextCursor of a previous page unchanged`);
}

/** Anything that is not exactly what `encodeToolCallCursor` produces is INVALID_CURSOR naming `cursor` (400). */
export function decodeToolCallCursor(raw: string): ToolCallCursor {
  const parsed = decodeCursorJson(raw, 600, bad);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('malformed');
  const p = parsed as { l?: unknown; c?: unknown; i?: unknown };
  if (p.l !== LIST) throw bad('not a cursor of this list');
  if (p.c !== null && (typeof p.c !== 'string' || !ISO_MS_RE.test(p.c))) throw bad('malformed time');
  if (typeof p.i !== 'string' || p.i.length === 0 || p.i.length > 200) throw bad('malformed id');
  return { requestedAt: p.c, id: p.i };
}
