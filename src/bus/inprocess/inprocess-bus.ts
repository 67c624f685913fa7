import type { CheckpointStore } from '../../checkpoints/port';
import type { EventStore } from '../../eventstore/port';
import type { Bus, BusConsumer, BusHandler, ConsumeOptions } from '../port';
import { CheckpointSaver } from './checkpoint-saver';
import { readBatches } from './read-batches';
import { sleep } from '../../core/sleep';

export type InProcessBusOptions = {
  /** Largest batch handed to a handler (default 500). */
  maxBatch?: number;
  /**
   * Called when a handler fails (the same batch is retried after a backoff, up to 5 s) and when
   * the store or a checkpoint write fails (the feed resumes after the last delivered batch).
   */
  onError?: (err: unknown, group: string) => void;
};

/** Checkpoint name of a consumer group of the in-process bus. */
export const busCheckpointName = (group: string) => `bus:${group}`;

/**
 * The embedded bus: each group reads the event store's global log from its checkpoint
 * (`bus:<group>` in the checkpoint store) and saves the checkpoint after its handler resolved.
 * A crash between the two redelivers that batch (at least once); order is the global order,
 * so order per stream holds too.
 * @example const bus = new InProcessBus(store, new SqlCheckpointStore(knex))
 */
export class InProcessBus implements Bus {
  readonly name = 'inprocess';
  private readonly consumers = new Set<BusConsumer>();

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: CheckpointStore,
    private readonly options: InProcessBusOptions = {},
  ) {}

  async consume(group: string, handler: BusHandler, options: ConsumeOptions = {}): Promise<BusConsumer> {
    const name = busCheckpointName(group);
    let after = await this.checkpoints.load(name);
    if (after === undefined && options.start === 'end') {
      after = await this.store.headPosition();
      await this.checkpoints.save(name, after);
    }
    const controller = new AbortController();
    // A failing store or checkpoint write is reported to onError and retried: only stop() ends it.
    const done = this.run(group, name, after, handler, controller.signal).catch((err) => this.options.onError?.(err, group));
    const consumer: BusConsumer = {
      stop: async () => {
        controller.abort();
        await done;
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
  }

  private async run(group: string, name: string, after: number | undefined, handler: BusHandler, signal: AbortSignal): Promise<void> {
    // The last position whose handler resolved: a failed read (the database away for a moment)
    // resumes the feed from here, so the group neither skips nor ends; only stop() ends it.
    let delivered = after;
    for (let failures = 0; !signal.aborted; failures++) {
      // The next batch must not wait for this one's checkpoint write (a commit each): the saver
      // writes the latest position behind the deliveries, and stop() waits for it.
      const saver = new CheckpointSaver(this.checkpoints, name);
      let reported: unknown;
      try {
        for await (const batch of readBatches(this.store, { after: delivered, maxBatch: this.options.maxBatch, signal })) {
          // A batch in hand is finished even when stop() is called meanwhile: stop waits for it.
          for (let attempt = 0; ; attempt++) {
            try {
              await handler(batch);
              break;
            } catch (err) {
              this.options.onError?.(err, group);
              if (signal.aborted) return;
              await sleep(Math.min(5000, 100 * 2 ** attempt), signal);
              if (signal.aborted) return;
            }
          }
          delivered = batch[batch.length - 1].position;
          saver.save(delivered);
          failures = 0;
        }
        // The feed ended without a failure: stop() or the store closed.
        return;
      } catch (err) {
        this.options.onError?.((reported = err), group);
      } finally {
        // A failed checkpoint save is reported (once) and made good by the next saver's.
        await saver.flush().catch((err) => err !== reported && this.options.onError?.(err, group));
      }
      await sleep(Math.min(5000, 100 * 2 ** failures), signal);
    }
  }
}
