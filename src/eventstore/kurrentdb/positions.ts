import type { Position } from '@kurrent/kurrentdb-client';

/**
 * The $all position of a record we reported as `position` (its commit position). Records written
 * here carry equal commit and prepare positions, one record per log entry.
 */
export function positionAfter(position: number): Position {
  const p = BigInt(position);
  return { commit: p, prepare: p };
}
