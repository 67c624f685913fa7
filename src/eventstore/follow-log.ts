import type { RecordedEvent } from '../core/envelope';
import type { EventStore, Subscription } from './port';

/** Waits before subscribing again after the subscription failed or ended, by failures in a row. */
const RETRY_MS = [200, 1_000, 5_000];

export type FollowLogOptions = {
  /** Follow from after this position (exclusive); from the start when undefined. */
  after?: number;
  streamPrefix?: string;
  onEvent(e: RecordedEvent): void | Promise<void>;
  /** Told each time the subscription failed or ended, before the wait (`after`: where it resumes). */
  onFailure(err: unknown, after: number | undefined, retryInMs: number): void;
};

export type LogFollower = {
  /** Stop following: ends a wait at once, closes the subscription, resolves when the loop has ended. */
  stop(): Promise<void>;
};

/**
 * Follow the log until stopped. A subscription that fails or ends (the store unreachable a
 * moment) is opened again after the last event handled, 200 ms, 1 s, then every 5 s while it keeps
 * failing: a follower that gave up would miss every later event until its process restarted.
 * @example const f = followLog(store, { after, onEvent: (e) => apply(e), onFailure: (err) => log.warn({ err }) }); … await f.stop();
 */
export function followLog(store: EventStore, o: FollowLogOptions): LogFollower {
  let stopped = false;
  let sub: Subscription | undefined;
  let stopWaiting: (() => void) | undefined;
  let after = o.after;
  const done = (async () => {
    let failures = 0;
    while (!stopped) {
      const s = store.subscribeAll({ ...(after !== undefined ? { after } : {}), ...(o.streamPrefix !== undefined ? { streamPrefix: o.streamPrefix } : {}) });
      sub = s;
      let why: unknown = new Error('the subscription ended');
      try {
        for await (const e of s) {
          if (stopped) break;
          after = e.position;
          failures = 0;
          await o.onEvent(e);
        }
      } catch (err) {
        why = err;
      }
      await s.close().catch(() => {});
      if (stopped) return;
      const wait = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)];
      o.onFailure(why, after, wait);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
        stopWaiting = () => (clearTimeout(timer), resolve());
      });
      stopWaiting = undefined;
    }
  })();
  return {
    async stop() {
      stopped = true;
      stopWaiting?.();
      await sub?.close().catch(() => {});
      await done;
    },
  };
}
