import type { Knex } from 'knex';
import { reapplyRecordedErasures } from './reapply-recorded-erasures';

export type RecordedErasureSweepOptions = {
  /** Between runs; the first runs at once (a start after a restore). Default 60 s. */
  intervalMs?: number;
  /** After a run that found live keys the log records as erased, and erased them. */
  onErased?: (kids: string[]) => void;
  /** A run that failed (the database away): the next run tries again from the same place. */
  onError?: (err: unknown) => void;
};

export type RecordedErasureSweep = { stop(): Promise<void> };

/**
 * Run reapplyRecordedErasures at once and then every `intervalMs`, each run from where the last one
 * ended, one run at a time, until stopped: every API process does, so a key that a restored database
 * brought back is erased again at the start after the restore, or within a minute of the read
 * models applying its SubjectKeyErased (they may catch up after the start). `stop` waits for a run.
 * @example const sweep = startRecordedErasureSweep(knex, { onErased: (kids) => log.warn({ kids }) }); … await sweep.stop();
 */
export function startRecordedErasureSweep(knex: Knex, o: RecordedErasureSweepOptions = {}): RecordedErasureSweep {
  let through = -1;
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= reapplyRecordedErasures(knex, through)
      .then((out) => {
        through = out.through;
        if (out.erased.length) o.onErased?.(out.erased);
      }, (err: unknown) => o.onError?.(err))
      .finally(() => (running = undefined));
  };
  run();
  const timer = setInterval(run, o.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
