/**
 * In-process notifications of applied positions, for read-your-writes without polling.
 * Waiters are told the exact positions of each applied batch, not only a maximum: under Kafka a
 * higher position may be applied before a lower one from another partition.
 */
export class AppliedPositions {
  private readonly waiters = new Map<number, Set<() => void>>();
  private watermark = -1;

  /** Highest position applied so far by this process. */
  get highest(): number {
    return this.watermark;
  }

  /** Resolves when `position` is announced; call `cancel` if you stop waiting. */
  wait(position: number): { promise: Promise<void>; cancel(): void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const set = this.waiters.get(position) ?? new Set();
    set.add(resolve);
    this.waiters.set(position, set);
    return {
      promise,
      cancel: () => {
        set.delete(resolve);
        if (!set.size) this.waiters.delete(position);
      },
    };
  }

  announce(positions: number[]): void {
    for (const p of positions) {
      if (p > this.watermark) this.watermark = p;
      const set = this.waiters.get(p);
      if (!set) continue;
      this.waiters.delete(p);
      for (const resolve of set) resolve();
    }
  }
}
