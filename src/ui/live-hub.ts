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
  private readonly listeners = new Set<Listener>();
  private backlog: EventNotice[] = [];
  private sub?: Subscription;
  private pump?: Promise<void>;
  private closed = false;
  private last = -1;

  constructor(private readonly o: LiveHubOptions) {}

  async start(): Promise<void> {
    const head = await this.o.store.headPosition();
    // Positions are gap-free on the SQL store and sparse on KurrentDB; either way this is "recent".
    this.last = Math.max(-1, head - (this.o.warmEvents ?? 5_000));
    this.pump = this.run(head);
  }

  private async run(warmUntil: number): Promise<void> {
    while (!this.closed) {
      try {
        this.sub = this.o.store.subscribeAll({ after: this.last });
        for await (const e of this.sub) {
          if (e.position <= this.last) continue;
          if (e.position > warmUntil) await this.o.readModels.waitForPosition(e.position, this.o.readYourWritesMs ?? 2_000);
          this.last = e.position;
          const n = noticeOf(e);
          this.activity.add(n);
          this.tools.add(e);
          this.backlog.push(n);
          if (this.backlog.length > (this.o.backlog ?? 2_000) * 2) this.backlog = this.backlog.slice(-(this.o.backlog ?? 2_000));
          for (const l of this.listeners) l(n);
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
   * Listen for notices; those still in the backlog after `after` are delivered first.
   * Returns the unsubscribe function.
   */
  subscribe(after: number | undefined, listener: Listener): () => void {
    if (after !== undefined) for (const n of this.backlog) if (n.position > after) listener(n);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.sub?.close();
    await this.pump;
  }
}
