/**
 * The most characters of recorded payloads one page holds: of event bodies in the audit list
 * (GET /v1/events, a task's events), of arguments and results in the tool-call list, of a subject's
 * events with their tasks and calls (include=details). A page ends before the row that would pass
 * it, with a cursor to go on from, never empty. Up to 1,000 events of up to MAX_EVENT_BYTES each
 * would be gigabytes for one request.
 */
export const MAX_PAGE_CHARS = 16 * 1024 * 1024;

/**
 * How many of the first `rows` (at most `limit`) a page takes: while their `size` (characters of
 * what they hold) stays within MAX_PAGE_CHARS, and at least one.
 * @example fitting([{ size: 10 }, { size: MAX_PAGE_CHARS }], 1000) // 1
 */
export function fitting(rows: readonly { size?: unknown }[], limit: number): number {
  let taken = 0;
  for (let chars = 0; taken < Math.min(limit, rows.length); taken++) {
    chars += Number(rows[taken].size ?? 0);
    if (taken > 0 && chars > MAX_PAGE_CHARS) break;
  }
  return taken;
}
