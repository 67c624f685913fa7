export type Periodic = {
  /** Stop running; waits for a run in progress. */
  stop(): Promise<void>;
};

/**
 * Run `run` at once and then every `intervalMs`, one run at a time (a tick while a run is still
 * going is skipped), until stopped; the timer does not hold the process open. `run` handles its
 * own errors: a rejection (or a throw) is swallowed here so that the next tick runs.
 * @example const sweep = runPeriodically(() => settle().catch(report), 60_000); … await sweep.stop();
 */
export function runPeriodically(run: () => Promise<void>, intervalMs: number): Periodic {
  let running: Promise<void> | undefined;
  const tick = () => {
    // Through a promise: a run that throws before returning its own would otherwise throw from
    // the timer (an uncaught exception, ending the process). Still called at once, as before.
    running ??= new Promise<void>((resolve) => resolve(run()))
      .catch(() => undefined)
      .finally(() => (running = undefined));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
