import { cancelledError, McpGatewayError } from './errors';

/** A call waiting for a slot, and whose share it counts to (`owner`: the calling tenant on a shared server). */
type Waiter = { owner: string; admit: () => void };

/**
 * Per-upstream concurrency limit: at most `max` calls in flight, at most `maxQueue` waiting.
 * A full queue fails at once (MCP_UPSTREAM_BUSY) rather than letting callers pile up behind a slow upstream.
 *
 * `shared` (a shared server: every tenant calls it): the slots and the queue are shared fairly
 * between the calls' owners (their tenants). A freed slot goes to the longest waiting call of the
 * owner with the fewest calls in flight (of those alike, the one given a slot least recently), and
 * one owner's calls fill at most half the queue: a tenant sending calls faster than the server
 * answers waits behind itself (before, first come first served: its backlog ran before another
 * tenant's call, and the queue it filled refused every other tenant busy). A free slot is still
 * taken by whoever asks, so a tenant alone on the server has all of them.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Calls in flight per owner (shared only). */
  private readonly running = new Map<string, number>();
  /** Calls waiting per owner (every owner is '' unless shared). */
  private readonly queued = new Map<string, number>();
  /** When each owner was last given a slot (a count of slots given), while it has calls in flight or waiting (shared only). */
  private readonly served = new Map<string, number>();
  private slotsGiven = 0;
  private readonly maxQueuedPerOwner: number;

  constructor(
    readonly max: number,
    readonly maxQueue: number,
    private readonly label: string,
    private readonly options: { shared?: boolean } = {},
  ) {
    this.maxQueuedPerOwner = options.shared ? Math.max(1, Math.ceil(maxQueue / 2)) : maxQueue;
  }

  get inFlight(): number {
    return this.active;
  }

  /**
   * Run `fn` in a slot. A `signal` aborted while the call waits for one takes it out of the queue
   * (MCP_CALL_CANCELLED). `owner`: whose share the call takes (shared limiters; ignored otherwise).
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal, owner = ''): Promise<T> {
    if (signal?.aborted) throw cancelledError(signal);
    const who = this.options.shared ? owner : '';
    if (this.active >= this.max) {
      const mine = this.queued.get(who) ?? 0;
      if (this.waiting.length >= this.maxQueue) throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight and ${this.waiting.length} queued`);
      // Naming no count of the others' calls: how busy the other tenants are is theirs.
      if (mine >= this.maxQueuedPerOwner) {
        throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight, and this tenant's ${mine} queued are its share of the queue (half of ${this.maxQueue}: the server is shared by every tenant)`);
      }
      // Admitted by the call that frees a slot, which counts this one in flight (`release`).
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          owner: who,
          admit: () => {
            signal?.removeEventListener('abort', leave);
            resolve();
          },
        };
        // A caller that gave up must not hold a place in the queue, nor later a slot it would not use.
        const leave = () => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            this.count(this.queued, who, -1);
            this.forgetIfIdle(who);
          }
          reject(cancelledError(signal!));
        };
        this.waiting.push(waiter);
        this.count(this.queued, who, 1);
        signal?.addEventListener('abort', leave, { once: true });
      });
    } else {
      this.active++;
      this.began(who);
    }
    try {
      return await fn();
    } finally {
      this.release(who);
    }
  }

  /** A call of `owner` took a slot. */
  private began(owner: string): void {
    if (!this.options.shared) return;
    this.count(this.running, owner, 1);
    this.served.set(owner, ++this.slotsGiven);
  }

  /** A call of `owner` ended: its slot goes straight to the next waiter, so `active` never dips below the true count. */
  private release(owner: string): void {
    if (this.options.shared) this.count(this.running, owner, -1);
    const next = this.next();
    if (next) {
      this.count(this.queued, next.owner, -1);
      this.began(next.owner);
      next.admit();
    } else this.active--;
    this.forgetIfIdle(owner);
  }

  private forgetIfIdle(owner: string): void {
    if (!this.running.has(owner) && !this.queued.has(owner)) this.served.delete(owner);
  }

  /**
   * The waiter a freed slot goes to (taken out of the queue): the first; shared, the first of the
   * owner with the fewest calls in flight, of those alike the one given a slot least recently.
   */
  private next(): Waiter | undefined {
    if (!this.options.shared || this.waiting.length < 2) return this.waiting.shift();
    let best = 0;
    let fewest = Infinity;
    let longest = Infinity;
    for (let i = 0; i < this.waiting.length; i++) {
      const { owner } = this.waiting[i];
      const n = this.running.get(owner) ?? 0;
      const last = this.served.get(owner) ?? 0;
      if (n < fewest || (n === fewest && last < longest)) {
        fewest = n;
        longest = last;
        best = i;
      }
    }
    return this.waiting.splice(best, 1)[0];
  }

  private count(counts: Map<string, number>, owner: string, by: number): void {
    const n = (counts.get(owner) ?? 0) + by;
    if (n > 0) counts.set(owner, n);
    else counts.delete(owner);
  }
}
