import type { RecordedEvent } from '../core/envelope';
import type { EventStore, Subscription } from '../eventstore/port';
import type { ReadModels } from '../readmodels/port';
import { ActivityStats } from './activity-stats';
import { noticeOf, type EventNotice } from './event-notice';
import { ToolLatencyStats } from './tool-latency-stats';

export type LiveHubOptions = {
  store: EventStore;
  readModels: ReadModels;
  /** Events replayed at start to warm the sparklines and latency windows (default 5,000). */
  warmEvents?: number;
  /** Notices kept for clients reconnecting with `after` (default 2,000). */
  backlog?: number;
  /** How long a notice waits for the read models to show its event (default 2,000 ms). */
  readYourWritesMs?: number;
  onError?: (err: unknown) => void;
};

type Listener = (n: EventNotice) => void;

/**
 * One catch-up subscription to the event log per process, fanned out to every open dashboard.
 * A notice goes out only once the read models have applied its event (or after a bounded
 * wait), so the browser's refetch over REST sees what the notice announced.
 */
export class LiveHub {
  readonly activity = new ActivityStats();
  readonly tools = new ToolLatencyStats();
  /** Each open stream's listener, with the position after which it hears new notices (all of them when undefined). */
  private readonly listeners = new Map<Listener, number | undefined>();
  private backlog: EventNotice[] = [];
  private sub?: Subscription;
  private pump?: Promise<void>;
  private closed = false;
  private last = -1;
  /** Every event after this position has been announced (and is in the backlog) or is still to come. */
  private from = -1;
  /** Where the warm-up started, until its first event is counted. */
  private warmedFrom = -1;
  /** The read side missed its last wait: it is not waited for again until it shows an event. */
  private readBehind = false;

  constructor(private readonly o: LiveHubOptions) {}

  async start(): Promise<void> {
    const head = await this.o.store.headPosition();
    // Positions are gap-free on the SQL store and sparse on KurrentDB; either way this is "recent".
    this.last = this.from = this.warmedFrom = Math.max(-1, head - (this.o.warmEvents ?? 5_000));
    this.pump = this.run(head);
  }

  private async run(warmUntil: number): Promise<void> {
    while (!this.closed) {
      try {
        this.sub = this.o.store.subscribeAll({ after: this.last });
        for await (const e of this.sub) {
          if (e.position <= this.last) continue;
          // A stalled projector costs the feed one wait, not one per event (which made it crawl
          // at one notice per timeout, and the stats with it); each later notice is still checked.
          if (e.position > warmUntil) this.readBehind = !(await this.o.readModels.waitForPosition(e.position, this.readBehind ? 0 : (this.o.readYourWritesMs ?? 2_000)));
          this.last = e.position;
          const n = noticeOf(e);
          // Warmed from the last events: older ones exist and are not counted.
          if (this.warmedFrom > -1) {
            this.activity.startAt(n);
            this.warmedFrom = -1;
          }
          this.activity.add(n);
          this.tools.add(e);
          this.backlog.push(n);
          const keep = this.o.backlog ?? 2_000;
          if (this.backlog.length > keep * 2) {
            this.from = this.backlog[this.backlog.length - keep - 1].position;
            this.backlog = this.backlog.slice(-keep);
          }
          for (const [l, after] of this.listeners) if (after === undefined || n.position > after) l(n);
        }
      } catch (err) {
        if (this.closed) return;
        this.o.onError?.(err);
      }
      // The subscription ended or failed while open: resume after the last event seen.
      if (!this.closed) await new Promise((r) => setTimeout(r, 1_000).unref());
    }
  }

  /** Position of the last event announced. */
  get position(): number {
    return this.last;
  }

  /**
   * Can a client that has seen everything up to `after` be told all it missed? Not when `after`
   * is older than the backlog (trimmed, or a restarted process that warmed from a bounded
   * number of events): that client must reload what it shows.
   */
  covers(after: number): boolean {
    return after >= this.from;
  }

  /**
   * Listen for notices after `after` (all new ones without it): those in the backlog first, then
   * each as it is announced, none twice (a hub still catching up announces older events too).
   * Returns the unsubscribe function.
   */
  subscribe(after: number | undefined, listener: Listener): () => void {
    if (after !== undefined) for (const n of this.backlog) if (n.position > after) listener(n);
    // Its own function, so that one listener subscribed twice is two subscriptions.
    const l: Listener = (n) => listener(n);
    this.listeners.set(l, after);
    return () => this.listeners.delete(l);
  }

  /**
   * Tell every open stream again of `events`, which the read models now show differently than when
   * their notices went out: the bus lost them, the gap repair applied them from the event store
   * and rebuilt their streams (GapRepair.onShown), while the notices went out when the wait for the
   * read models ran out. A page refetches on these as on a new notice (`again: true`, at the old
   * position). Live only: not kept for reconnecting pages, not counted in the stats again. Events
   * the hub has not announced yet are left to it: their notices come once the read models show them.
   */
  announceAgain(events: RecordedEvent[]): void {
    for (const e of events) {
      if (e.position > this.last) continue;
      const n: EventNotice = { ...noticeOf(e), again: true };
      for (const l of this.listeners.keys()) l(n);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.sub?.close();
    await this.pump;
  }
}
