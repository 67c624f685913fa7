import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from '../core/errors';

/** Keyset position in the task list: newest first, ties broken by id. */
export type TaskCursor = { createdAt: string; id: string };

const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeTaskCursor(c: TaskCursor): string {
  return encodeCursorJson({ c: c.createdAt, i: c.id });
}

function bad(reason: string): InvalidCursorError {
  return new InvalidCursorError(`cursor: ${reason}; pass back the nextCursor of a previous page unchanged`);
}

/**
 * Decode a cursor from a client. Anything that is not exactly what `encodeTaskCursor` produces
 * is INVALID_CURSOR naming `cursor` (HTTP 400, as on every other list), never a 500.
 */
export function decodeTaskCursor(raw: string): TaskCursor {
  const parsed = decodeCursorJson(raw, 600, bad);
  const p = parsed as { c?: unknown; i?: unknown };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('malformed');
  if (typeof p.c !== 'string' || !ISO_MS_RE.test(p.c)) throw bad('malformed time');
  if (typeof p.i !== 'string' || p.i.length === 0 || p.i.length > 200) throw bad('malformed id');
  return { createdAt: p.c, id: p.i };
}
