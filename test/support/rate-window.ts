import { WINDOW_MS } from '../../src/auth/window-counter';

/**
 * The rate limits count in fixed windows that are the clock's minutes (src/auth/window-counter.ts):
 * requests made across a minute's turn count in two windows, and a test counting down a limit then
 * sees it start again. These helpers keep a test's requests in one window.
 */

/** The window `ms` (since the epoch) falls in. */
export const rateWindowOf = (ms: number): number => Math.floor(ms / WINDOW_MS);

/**
 * The window of now once at least `roomMs` of it are left: with less left, the next one, waited
 * for. Requests made within `roomMs` of this then count in the window returned.
 * @example const w = await roomInRateWindow(15_000); ...requests...; expect(rateWindowOf(Date.now())).to.equal(w);
 */
export async function roomInRateWindow(roomMs: number): Promise<number> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < roomMs) await new Promise((r) => setTimeout(r, left + 5));
  return rateWindowOf(Date.now());
}
