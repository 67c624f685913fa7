import type { EventStore } from './port';

/** Most events a count by reading visits (stores whose positions have gaps): a bound on a scrape's cost. */
export const EVENT_COUNT_CAP = 10_000;

/**
 * Events in the log after `position` (a position this store gave, or -1 for the whole log), for
 * lag gauges: head position − `position` where positions are gap-free (SQL); counted by reading
 * where they are log offsets with gaps (KurrentDB: their difference is bytes, not events), there
 * at most `cap`, so a value of `cap` means "at least `cap`".
 * @example await eventsAfter(store, checkpoint) // 12
 */
export async function eventsAfter(
  store: Pick<EventStore, 'headPosition' | 'readAll' | 'gapFreePositions'>,
  position: number,
  cap = EVENT_COUNT_CAP,
): Promise<number> {
  const head = await store.headPosition();
  if (head <= position) return 0;
  if (store.gapFreePositions) return head - position;
  return (await store.readAll({ after: position, limit: cap })).length;
}
