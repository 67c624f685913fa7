import { runPeriodically } from '../core/periodic';
import { settleUnissuedKeys, type SettleUnissuedKeysDependencies, type SettleUnissuedKeysReturnType } from './settle-unissued-keys';

export type UnissuedKeySweepOptions = {
  /** Between runs; the first runs at once (a start settles what a killed process left). Default 60 s. */
  intervalMs?: number;
  /** After a run that let go or revoked keys. */
  onSettled?: (out: SettleUnissuedKeysReturnType) => void;
  /** A run that failed (the database or the event store away): the next run tries again. */
  onError?: (err: unknown) => void;
};

export type UnissuedKeySweep = { stop(): Promise<void> };

/**
 * Run settleUnissuedKeys at once and then every `intervalMs`, one run at a time, until stopped:
 * every API process does, so a key left being issued stops counting against its tenant's limit
 * within UNISSUED_KEY_HOLD_MS and a minute, whichever processes are still up. Processes sweeping
 * together are safe (settleUnissuedKeys settles each key once). `stop` waits for a run in progress.
 * @example const sweep = startUnissuedKeySweep({ store, catalog, keys }, { onError: (err) => log.warn({ err }) }); … await sweep.stop();
 */
export function startUnissuedKeySweep(deps: SettleUnissuedKeysDependencies, o: UnissuedKeySweepOptions = {}): UnissuedKeySweep {
  return runPeriodically(
    () =>
      settleUnissuedKeys(deps).then(
        (out) => {
          if (out.letGo.length + out.revoked.length > 0) o.onSettled?.(out);
        },
        (err: unknown) => o.onError?.(err),
      ),
    o.intervalMs ?? 60_000,
  );
}
