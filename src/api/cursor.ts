import { decodeCursorJson, encodeCursorJson } from '../core/cursor-json';
import { InvalidCursorError } from './errors';

/**
 * Cursors the API issues itself: base64url JSON of the last key seen, tagged with the list it
 * belongs to so a cursor from one list is refused by another.
 */
export function encodeCursor(list: string, last: string | number): string {
  return encodeCursorJson([list, last]);
}

export function decodeCursor(list: string, cursor: string, check: (last: unknown) => boolean): string | number {
  const parsed = decodeCursorJson(cursor, 2000, () => new InvalidCursorError());
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== list || !check(parsed[1])) throw new InvalidCursorError();
  return parsed[1] as string | number;
}

/** A global position as a list cursor holds it: what a page's last event had, never below 0. */
export const isPosition = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
