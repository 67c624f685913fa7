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
  /**
   * The calls waiting, per owner in the order they came (owners with none are not kept; every
   * owner is '' unless shared). A Set: a caller giving up leaves it at once, wherever it stands.
   */
  private readonly waiting = new Map<string, Set<Waiter>>();
  private queued = 0;
  /** Calls in flight per owner (shared only). */
  private readonly running = new Map<string, number>();
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
      if (this.queued >= this.maxQueue) throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight and ${this.queued} queued`);
      const mine = this.waiting.get(who);
      // Naming no count of the others' calls: how busy the other tenants are is theirs.
      if (mine && mine.size >= this.maxQueuedPerOwner) {
        throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight, and this tenant's ${mine.size} queued are its share of the queue (half of ${this.maxQueue}: the server is shared by every tenant)`);
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
          if (this.dequeue(waiter)) this.forgetIfIdle(who);
          reject(cancelledError(signal!));
        };
        const queue = mine ?? new Set<Waiter>();
        if (!mine) this.waiting.set(who, queue);
        queue.add(waiter);
        this.queued++;
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
    this.running.set(owner, (this.running.get(owner) ?? 0) + 1);
    this.served.set(owner, ++this.slotsGiven);
  }

  /** A call of `owner` ended: its slot goes straight to the next waiter, so `active` never dips below the true count. */
  private release(owner: string): void {
    if (this.options.shared) {
      const n = this.running.get(owner)! - 1;
      if (n > 0) this.running.set(owner, n);
      else this.running.delete(owner);
    }
    const next = this.next();
    if (next) {
      this.dequeue(next);
      this.began(next.owner);
      next.admit();
    } else this.active--;
    this.forgetIfIdle(owner);
  }

  /** Takes `waiter` out of the queue; false if it was not there (admitted already). */
  private dequeue(waiter: Waiter): boolean {
    const queue = this.waiting.get(waiter.owner);
    if (!queue?.delete(waiter)) return false;
    if (!queue.size) this.waiting.delete(waiter.owner);
    this.queued--;
    return true;
  }

  private forgetIfIdle(owner: string): void {
    if (!this.running.has(owner) && !this.waiting.has(owner)) this.served.delete(owner);
  }

  /**
   * The waiter a freed slot goes to: the first; shared, the first of the owner with the fewest
   * calls in flight, of those alike the one given a slot least recently. It looks at each owner
   * waiting once, never at each call: every tools/call to the server goes through here.
   */
  private next(): Waiter | undefined {
    let best: Set<Waiter> | undefined;
    let fewest = Infinity;
    let longest = Infinity;
    for (const [owner, queue] of this.waiting) {
      if (!this.options.shared) return first(queue);
      const n = this.running.get(owner) ?? 0;
      const last = this.served.get(owner) ?? 0;
      if (n < fewest || (n === fewest && last < longest)) {
        fewest = n;
        longest = last;
        best = queue;
      }
    }
    return best && first(best);
  }
}

/** The longest waiting of an owner's calls (a Set keeps the order they came in). */
function first(queue: Set<Waiter>): Waiter {
  return queue.values().next().value as Waiter;
}
