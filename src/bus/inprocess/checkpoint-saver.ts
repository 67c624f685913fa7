import type { CheckpointStore } from '../../checkpoints/port';

/**
 * Saves a consumer group's checkpoint off the delivery path: one save in flight at a time, the
 * latest position wins. A crash before a save lands redelivers those batches (at least once),
 * never skips one, because only positions whose handler resolved are ever offered.
 * A failed save is thrown from the next `save` or `flush`; the bus reports it and carries on with
 * a fresh saver, whose next save covers the lost one.
 */
export class CheckpointSaver {
  private latest?: number;
  private running?: Promise<void>;
  private failure?: unknown;

  constructor(
    private readonly store: CheckpointStore,
    private readonly name: string,
  ) {}

  save(position: number): void {
    if (this.failure !== undefined) throw this.failure;
    this.latest = position;
    this.running ??= this.drain();
  }

  /** Resolves when the latest offered position is saved. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.latest !== undefined) {
        const p = this.latest;
        this.latest = undefined;
        await this.store.save(this.name, p);
      }
    } catch (err) {
      this.failure = err;
    } finally {
      this.running = undefined;
    }
  }
}
