export type BackoffOptions = {
  /** Wait before the first redelivery of a failed batch (default 300 ms). */
  initialMs?: number;
  /** Longest wait, reached by doubling while the batch keeps failing (default 5 s). */
  maxMs?: number;
};

/**
 * The wait before the next try after `failures` failures in a row (1 or more): `initialMs` doubling
 * per failure up to `maxMs`, ±20 % jitter (so members failing on one outage do not all retry at
 * once), never above `maxMs`.
 * @example backoffWait(3, { initialMs: 1000, maxMs: 30_000 }) // about 4000
 */
export function backoffWait(failures: number, o: Required<BackoffOptions>): number {
  const max = Math.max(o.initialMs, o.maxMs);
  return Math.round(Math.min(max, o.initialMs * 2 ** (failures - 1) * (0.8 + Math.random() * 0.4)));
}

/**
 * Holds back the partitions whose batch failed, each for its own backoff: `hold` is given the
 * consumer's pause for that partition and calls the resume it returns when the wait is over;
 * the wait doubles from `initialMs` up to `maxMs` (±20 % jitter, so members failing on one
 * database outage do not all retry at once) until `applied` resets it. `close` drops every
 * pending resume and refuses new ones, so shutting down never waits out a backoff.
 * @example const held = new PartitionBackoff({ initialMs: 300, maxMs: 5000 }); held.hold(0, pause)
 */
export class PartitionBackoff {
  private readonly failures = new Map<number, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: BackoffOptions = {}) {}

  /** Pause `partition` (through `pause`, which returns its resume) and resume it after its backoff; returns the wait in ms. */
  hold(partition: number, pause: () => () => void): number {
    const failures = (this.failures.get(partition) ?? 0) + 1;
    this.failures.set(partition, failures);
    const wait = backoffWait(failures, { initialMs: this.options.initialMs ?? 300, maxMs: this.options.maxMs ?? 5000 });
    const resume = pause();
    // Closing: the partition stays paused, the consumer is on its way out.
    if (this.closed) return wait;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      resume();
    }, wait);
    timer.unref();
    this.timers.add(timer);
    return wait;
  }

  /** A batch of `partition` applied: its next failure starts the backoff again. */
  applied(partition: number): void {
    this.failures.delete(partition);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
