/** Audit rows read per query (their bodies within MAX_PAGE_CHARS characters a read: fitting). */
export const SLICE_ROWS = 1000;

/** An audit row's position and the length of its body, as a slice is chosen from. */
export type SizedRow = { position: number | string; size: number | string | null };
