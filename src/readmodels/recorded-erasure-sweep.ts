import type { Knex } from 'knex';
import { runPeriodically } from '../core/periodic';
import { reapplyRecordedErasures } from './reapply-recorded-erasures';

export type RecordedErasureSweepOptions = {
  /** Between runs; the first runs at once (a start after a restore). Default 60 s. */
  intervalMs?: number;
  /**
   * How often a run reads every erasure the log records again, not only those after the last run's
   * (a database restored while this process runs; erasures the read models applied out of order).
   * Its cost grows with the number of erasures ever recorded. Default 1 hour.
   */
  fullPassMs?: number;
  /** After a run that found live keys the log records as erased, and erased them. */
  onErased?: (kids: string[]) => void;
  /** A run that failed (the database away): the next run tries again from the same place. */
  onError?: (err: unknown) => void;
};

export type RecordedErasureSweep = { stop(): Promise<void> };

/**
 * Run reapplyRecordedErasures at once and then every `intervalMs`, each run from where the last one
 * ended, and from the start again every `fullPassMs`, one run at a time, until stopped: every API
 * process does, so a key that a restored database brought back is erased again at the start after
 * the restore, or within a minute of the read models applying its SubjectKeyErased (they may catch
 * up after the start), or, in a process that ran across the restore, within `fullPassMs`. `stop`
 * waits for a run.
 * @example const sweep = startRecordedErasureSweep(knex, { onErased: (kids) => log.warn({ kids }) }); … await sweep.stop();
 */
export function startRecordedErasureSweep(knex: Knex, o: RecordedErasureSweepOptions = {}): RecordedErasureSweep {
  let through = -1;
  let lastFull = Date.now();
  return runPeriodically(() => {
    const started = Date.now();
    // Reading on from `through` misses an erasure below it: one whose key a restore under this
    // running process brought back (it was checked before the restore), or one the read models
    // applied after a later one. A full pass finds those, and sets `through` back to what the
    // audit table holds (lower after a restore), so its re-projected erasures are read on again.
    const full = started - lastFull >= (o.fullPassMs ?? 3_600_000);
    return reapplyRecordedErasures(knex, full ? -1 : through).then(
      (out) => {
        through = out.through;
        if (full) lastFull = started;
        if (out.erased.length) o.onErased?.(out.erased);
      },
      (err: unknown) => o.onError?.(err),
    );
  }, o.intervalMs ?? 60_000);
}
