import { excludeSystemEvents, START, streamNameFilter, type KurrentDBClient } from '@kurrent/kurrentdb-client';
import type { RecordedEvent } from '../../core/envelope';
import { assertStreamPrefix, type SubscribeOptions, type Subscription } from '../port';
import { fromResolved } from './codec';
import { toStoreError } from './errors';
import { positionAfter } from './positions';

/** Pause the gRPC stream when this many events wait unread, so a slow reader bounds memory. */
const HIGH_WATER = 512;

/**
 * Catch-up subscription to $all: the server replays everything after `after`, then streams live
 * appends on the same call, so there is no gap between history and live. System events are
 * filtered by the server and again here; positions at or below the last one yielded are dropped.
 * With `streamPrefix` the server filters by stream name instead (and this checks it again).
 */
export function subscribeAll(client: KurrentDBClient, options: SubscribeOptions = {}): Subscription {
  const after = options.after ?? -1;
  const prefix = options.streamPrefix;
  assertStreamPrefix(prefix);
  const sub = client.subscribeToAll({
    fromPosition: after < 0 ? START : positionAfter(after),
    // A stream prefix never starts with `$` here, so it leaves system streams out as well.
    filter: prefix ? streamNameFilter({ prefixes: [prefix] }) : excludeSystemEvents(),
  });
  const queue: RecordedEvent[] = [];
  let last = after;
  let failure: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  sub.on('data', (resolved) => {
    const e = fromResolved(resolved);
    if (!e || e.position <= last || (prefix && !e.stream.startsWith(prefix))) return;
    last = e.position;
    queue.push(e);
    if (queue.length >= HIGH_WATER) sub.pause();
    notify();
  });
  sub.on('error', (err) => {
    failure = toStoreError(err, { op: 'subscribeAll' });
    notify();
  });
  sub.on('end', () => {
    ended = true;
    notify();
  });

  async function* iterate(): AsyncGenerator<RecordedEvent> {
    for (;;) {
      if (queue.length > 0) {
        const e = queue.shift()!;
        if (queue.length < HIGH_WATER / 2 && sub.isPaused()) sub.resume();
        yield e;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  return {
    [Symbol.asyncIterator]: iterate,
    async close() {
      ended = true;
      queue.length = 0;
      notify();
      await sub.unsubscribe();
    },
  };
}
