/** Audit rows read per query, and the most characters of their bodies one read holds (one event holds up to 4 MiB). */
export const SLICE_ROWS = 1000;
export const SLICE_CHARS = 16 * 1024 * 1024;

/** An audit row's position and the length of its body, as a slice is chosen from. */
export type SizedRow = { position: number | string; size: number | string | null };

/**
 * How many of `sized` (in position order) one read of their bodies takes: as many as fit
 * SLICE_CHARS characters, and at least one (a body over it is read alone). Pure.
 * @example sliceLength([{ position: 1, size: 10 }, { position: 2, size: SLICE_CHARS }]) // 1
 */
export function sliceLength(sized: readonly SizedRow[]): number {
  let taken = 0;
  for (let chars = 0; taken < sized.length; taken++) {
    chars += Number(sized[taken].size ?? 0);
    if (taken > 0 && chars > SLICE_CHARS) break;
  }
  return taken;
}
