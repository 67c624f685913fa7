import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';

/** A breaker's settings (UpstreamOptions.breaker). */
export type BreakerSettings = { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number; rollingCountTimeoutMs: number };

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * What a failed call says of its tenant's calls: `failure` counts against the tenant's circuit (a
 * call's own timeout); `answer`, the upstream answered it (an error answer: no failure, and it
 * closes a half-open circuit, as a success does); `nothing`, it says nothing of them (cancelled by
 * its caller, the gateway shutting down, the server itself down or its circuit open): no failure,
 * and a half-open circuit it went through is opened again, uncounted, for its next call through to decide.
 */
export type TenantOutcome = 'failure' | 'answer' | 'nothing';

/** opossum's rolling window has this many buckets (its default); one timer rotates them for every tenant's breaker. */
const BUCKETS = 10;

type Entry<A extends unknown[], R> = { breaker: CircuitBreaker<A, R>; inFlight: number };

/**
 * One circuit breaker (opossum) per tenant in front of `action`, for a shared server: a failure that
 * `judge` says is a `failure` (a call's own timeout) opens the circuit of the tenant whose call met it, not the
 * server's, so one tenant's calls cannot open it for every tenant. What says the server itself is
 * down is `action`'s: the server's own breaker, which a tenant's breaker passes its calls to.
 *
 * Memory is bounded by the tenants calling lately, not by every tenant that ever called: a tenant's
 * breaker is made at its first call and dropped, at the sweep each time the rolling window has
 * turned, once it has no call in flight, is not open and no failure is left in its window (so at
 * most two windows after its last call); their buckets turn on one timer shared by all of them
 * (opossum's rotateBucketController), not two timers each. A call of a tenant with a breaker costs
 * one map lookup more, and its breaker's fire; a breaker is made once per window at most, not per call.
 */
export class TenantBreakers<A extends unknown[], R> {
  private readonly breakers = new Map<string, Entry<A, R>>();
  private readonly rotation = new EventEmitter().setMaxListeners(0);
  private readonly timer: NodeJS.Timeout;
  private turns = 0;
  /** The errors `action` threw (judged by a breaker's errorFilter): told apart from a tenant breaker's own refusal. */
  private readonly thrown = new WeakSet<object>();

  constructor(
    private readonly action: (...args: A) => Promise<R>,
    private readonly settings: BreakerSettings,
    /** What a failure says of the calling tenant's calls (TenantOutcome). */
    private readonly judge: (err: unknown) => TenantOutcome,
    /** The error a call gets while its tenant's circuit is open. */
    private readonly refused: () => Error,
    /** Told when a tenant's circuit opens, and when it closes again (or its breaker, half-open, is dropped). */
    private readonly changed?: (tenant: string, state: 'open' | 'closed') => void,
  ) {
    this.timer = setInterval(() => this.turn(), Math.max(1, Math.floor(settings.rollingCountTimeoutMs / BUCKETS)));
    this.timer.unref();
  }

  /** Run `action` through `tenant`'s breaker (made now if it has none). */
  async fire(tenant: string, ...args: A): Promise<R> {
    let entry = this.breakers.get(tenant);
    if (!entry) this.breakers.set(tenant, (entry = { breaker: this.make(tenant), inFlight: 0 }));
    entry.inFlight++;
    try {
      return await entry.breaker.fire(...args);
    } catch (err) {
      // Refused by this tenant's breaker, not by the server's inside it (which `action` threw).
      if ((err as { code?: string })?.code === 'EOPENBREAKER' && !this.thrown.has(err as object)) throw this.refused();
      throw err;
    } finally {
      entry.inFlight--;
    }
  }

  /** `tenant`'s circuit: closed when it has no breaker (none of its calls failed lately). */
  state(tenant: string): CircuitState {
    const b = this.breakers.get(tenant)?.breaker;
    return !b || b.closed ? 'closed' : b.opened ? 'open' : 'half-open';
  }

  /** How many tenants' circuits are open (or half-open: not yet closed again). */
  get open(): number {
    let n = 0;
    for (const { breaker } of this.breakers.values()) if (!breaker.closed) n++;
    return n;
  }

  /** How many tenants have a breaker now. */
  get size(): number {
    return this.breakers.size;
  }

  close(): void {
    clearInterval(this.timer);
    for (const { breaker } of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }

  private make(tenant: string): CircuitBreaker<A, R> {
    const s = this.settings;
    // Opened again from half-open (reopen below): no change for its tenant, whose calls stay refused.
    let reopening = false;
    const breaker: CircuitBreaker<A, R> = new CircuitBreaker(this.action, {
      timeout: false,
      errorThresholdPercentage: s.errorThresholdPercentage,
      volumeThreshold: s.volumeThreshold,
      resetTimeout: s.resetTimeoutMs,
      rollingCountTimeout: s.rollingCountTimeoutMs,
      rollingCountBuckets: BUCKETS,
      errorFilter: (err: unknown) => {
        if (typeof err === 'object' && err !== null) this.thrown.add(err);
        const outcome = this.judge(err);
        if (outcome === 'failure') return false;
        // Passed as a success, it would close a half-open circuit though nothing answered the
        // tenant's call. Opened before opossum emits the success, which closes only a half-open one.
        if (outcome === 'nothing' && breaker.halfOpen) {
          reopening = true;
          try {
            breaker.open();
          } finally {
            reopening = false;
          }
        }
        return true;
      },
      // Nobody reads a tenant's snapshots or latency percentiles: no timer, no sorting per call.
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      rotateBucketController: this.rotation,
    });
    if (this.changed) {
      breaker.on('open', () => {
        if (!reopening) this.changed!(tenant, 'open');
      });
      breaker.on('close', () => this.changed!(tenant, 'closed'));
    }
    return breaker;
  }

  private idle(entry: Entry<A, R>): boolean {
    return entry.inFlight === 0 && !entry.breaker.opened;
  }

  /** A bucket's turn; once per window, drop the breakers whose failures have all left it. */
  private turn(): void {
    this.rotation.emit('rotate');
    if (++this.turns % BUCKETS) return;
    for (const [tenant, entry] of this.breakers) if (this.idle(entry) && entry.breaker.stats.failures === 0) this.drop(tenant, entry);
  }

  private drop(tenant: string, entry: Entry<A, R>): void {
    if (this.breakers.get(tenant) !== entry) return;
    this.breakers.delete(tenant);
    // A half-open one (no call since it opened): its tenant's calls are no longer refused, as the log should say.
    const halfOpen = !entry.breaker.closed;
    entry.breaker.shutdown();
    if (halfOpen) this.changed?.(tenant, 'closed');
  }
}
