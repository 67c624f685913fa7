import type { RecordedEvent } from '../../core/envelope';
import type { EventStore } from '../../eventstore/port';

export type ReadBatchesParameters = {
  /** Exclusive start position; undefined reads from the beginning. */
  after?: number;
  /** Largest batch handed out (default 500). */
  maxBatch?: number;
  /** Ends the feed; the batch being collected is dropped (its events were not handed out). */
  signal: AbortSignal;
};

const nextTick = () => new Promise<'idle'>((resolve) => setImmediate(() => resolve('idle')));

/**
 * The store's catch-up subscription cut into batches: a batch is whatever is ready now, up to
 * `maxBatch`, so a backlog goes out in large batches and a live append goes out at once.
 * @example for await (const batch of readBatches(store, { after: 41, signal })) await publish(batch)
 */
export async function* readBatches(store: EventStore, p: ReadBatchesParameters): AsyncGenerator<RecordedEvent[]> {
  const max = p.maxBatch ?? 500;
  const sub = store.subscribeAll({ after: p.after });
  const it = sub[Symbol.asyncIterator]();
  const stopped = new Promise<'stopped'>((resolve) => {
    if (p.signal.aborted) resolve('stopped');
    p.signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  try {
    // One next() is always outstanding; a result that loses a race is kept for the next batch.
    let pending = it.next();
    while (!p.signal.aborted) {
      const first = await Promise.race([pending, stopped]);
      if (first === 'stopped' || first.done) return;
      const batch = [first.value];
      pending = it.next();
      while (batch.length < max) {
        const r = await Promise.race([pending, nextTick()]);
        if (r === 'idle') break;
        if (r.done) break;
        batch.push(r.value);
        pending = it.next();
      }
      yield batch;
    }
  } finally {
    await sub.close();
  }
}
