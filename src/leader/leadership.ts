import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { NO_ANSWER, within } from '../core/within';
import { assertToken } from './assert-token';
import type { LeaseStore } from './lease-store';

/** What a term started by onElected hands back so the term can be ended (a Sealer, an Anchorer…). */
export type LeaderTerm = { stop(): Promise<unknown> } | void;

export type DeposedReason = 'lost' | 'expired' | 'stopped';

export type StartLeadershipParameters = {
  /** Lease name, one per single-leader role: 'sealer', 'anchorer'. */
  name: string;
  store: LeaseStore;
  /** How long a lease lasts without renewal: a dead leader's standby takes over within this and one renewEveryMs (its next try). */
  ttlMs: number;
  /** Default: `<hostname>:<pid>:<random>`, unique per process start. */
  holder?: string;
  /** Default ttlMs / 3, so two renewals may fail before the lease runs out. */
  renewEveryMs?: number;
  /** This candidate became leader with fencing `token`; `signal` aborts when the term ends. */
  onElected(token: number, signal: AbortSignal): LeaderTerm | Promise<LeaderTerm>;
  /** The term with `token` ended (after its LeaderTerm.stop() returned). */
  onDeposed?(token: number, reason: DeposedReason): void;
  onError?(err: unknown): void;
};

export type Leadership = {
  readonly holder: string;
  /** The fencing token of the current term, or undefined when not leading. */
  token(): number | undefined;
  isLeader(): boolean;
  /** Throws LeaseFencedError unless `token` is still the newest for this lease. */
  assertStillLeader(token: number): Promise<void>;
  /**
   * Stop campaigning: end the current term (awaiting its stop()) and then, unless
   * `release: false`, free the lease so a standby takes over without waiting for the TTL.
   */
  stop(options?: { release?: boolean }): Promise<void>;
};

/** `validUntil` is on the monotonic clock (performance.now()). */
type Term = { token: number; controller: AbortController; handle: LeaderTerm; validUntil: number };

/**
 * Campaign for the lease `name` in the background and run one term at a time: `onElected` starts
 * the role, the returned handle's stop() ends it when the lease is lost, runs out, or on stop().
 *
 * Safety: a term ends locally once `ttlMs` has passed since the start of the last successful
 * renewal request (on the monotonic clock, which NTP does not set back), i.e. no later than the
 * lease can expire in the store, so two terms overlap only if clocks drift faster than the TTL
 * margin; fencing tokens catch even that.
 * @example
 * const l = startLeadership({ name: 'sealer', store: new SqlLeaseStore(knex), ttlMs: 10_000,
 *   onElected: (token) => startSealer(fencedEventStore(store, leases, 'sealer', token), opts, batchLog) });
 */
export function startLeadership(p: StartLeadershipParameters): Leadership {
  const holder = p.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const renewEveryMs = p.renewEveryMs ?? Math.max(1, Math.floor(p.ttlMs / 3));
  let term: Term | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  // Term changes are serialized: the watchdog and the renew loop may both want to end a term.
  let transitions: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void>) => (transitions = transitions.then(fn, fn));

  const report = (err: unknown) => p.onError?.(err);

  async function endTerm(reason: DeposedReason): Promise<void> {
    const t = term;
    if (!t) return;
    term = undefined;
    clearTimeout(watchdog);
    t.controller.abort(new Error(`leadership of ${p.name} ended: ${reason}`));
    try {
      await t.handle?.stop();
    } catch (err) {
      report(err);
    }
    p.onDeposed?.(t.token, reason);
  }

  function arm(t: Term): void {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      // The signal first, at once: the transition itself may have to wait for a renewal in flight.
      if (term === t) t.controller.abort(new Error(`leadership of ${p.name} ended: expired`));
      void serially(() => (term === t ? endTerm('expired') : Promise.resolve()));
    }, Math.max(0, t.validUntil - performance.now()));
    watchdog.unref?.();
  }

  /**
   * The store's answer, or undefined once the lease it would renew may have run out: a renewal
   * that hangs (a half-open connection, a client queueing commands while it reconnects) would
   * otherwise hold up the watchdog's end of the term, which waits for this step, while a standby
   * takes the lease. A late answer is dropped; the next step asks again (a renewal by the same
   * holder keeps the token, so nothing is lost).
   */
  function acquireWithin(ms: number): Promise<number | undefined | typeof NO_ANSWER> {
    return within(ms, p.store.acquire(p.name, holder, p.ttlMs));
  }

  /**
   * Free the lease, waiting for the store at most a TTL: past that the lease has run out anyway,
   * and a hung store (a half-open connection) must not hold up a SIGTERM drain until its deadline.
   */
  async function release(): Promise<void> {
    const answer = await within(p.ttlMs, p.store.release(p.name, holder)).catch(report);
    if (answer === NO_ANSWER) report(new Error(`lease ${p.name}: the lease store did not answer the release within the lease's TTL; it runs out by itself`));
  }

  async function beginTerm(token: number, validUntil: number): Promise<void> {
    const controller = new AbortController();
    const t: Term = { token, controller, handle: undefined, validUntil };
    term = t;
    arm(t);
    try {
      t.handle = await p.onElected(token, controller.signal);
    } catch (err) {
      report(err);
      await endTerm('stopped');
      await release();
    }
  }

  async function step(): Promise<void> {
    // The monotonic clock: a wall clock set back (NTP) would stretch the term past the lease.
    const startedAt = performance.now();
    let token: number | undefined;
    try {
      const answer = await acquireWithin((term ? term.validUntil : startedAt + p.ttlMs) - startedAt);
      if (answer === NO_ANSWER) throw new Error(`lease ${p.name}: the lease store did not answer within the lease's remaining time`);
      token = answer;
    } catch (err) {
      report(err);
      return; // the watchdog ends the term if renewals keep failing until the lease could expire
    }
    if (stopped) return;
    if (token === undefined) return endTerm('lost');
    // A different token means our lease lapsed and we took it anew: the old term is over.
    if (term && term.token !== token) await endTerm('lost');
    if (term) {
      term.validUntil = startedAt + p.ttlMs;
      arm(term);
      return;
    }
    await beginTerm(token, startedAt + p.ttlMs);
  }

  const loop = (async () => {
    while (!stopped) {
      await serially(step);
      if (!stopped) await new Promise<void>((r) => ((wake = r), setTimeout(r, renewEveryMs)));
    }
  })();

  return {
    holder,
    token: () => term?.token,
    isLeader: () => term !== undefined,
    assertStillLeader: (token) => assertToken(p.store, p.name, token),
    async stop(options = {}) {
      stopped = true;
      wake?.();
      await loop;
      await serially(() => endTerm('stopped'));
      if (options.release !== false) await release();
    },
  };
}
