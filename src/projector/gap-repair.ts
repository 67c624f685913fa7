import type { Knex } from 'knex';
import { Counter, register as defaultRegistry, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../core/clock';
import { verifyEventHash, type RecordedEvent } from '../core/envelope';
import { errorCodeOf } from '../core/errors';
import { isConnectionFailure } from '../db/connection-failure';
import type { EventStore } from '../eventstore/port';
import { AuditAppliedThrough, auditHead } from '../readmodels/audit-applied-through';
import { StoreAppliedThrough } from '../readmodels/store-applied-through';
import { LIVE_TABLES } from '../../projections/tables';
import { defaultAppliers } from '../../projections';
import type { ProjectionApplier } from '../../projections/projection';

export const GAP_REPAIRS_METRIC = 'openmcp_projection_gap_repairs_total';

/** Most events read from the store and applied in one go. */
const REPAIR_CHUNK = 500;

/** Tries at reading a stream and replaying it while the bus keeps applying later events of it. */
const REPLAY_TRIES = 3;

/**
 * Replays of a stream the database failed for a moment (a connection lost, a deadlock, SQLite
 * busy) before the stream is reported for a rebuild: the first, then one at each of the next
 * checks after a wait that doubles (replayRetryMs).
 */
export const REPLAY_ATTEMPTS = 5;

type Outcome = 'repaired' | 'replayed_stream' | 'repaired_out_of_order' | 'missing_from_store' | 'hash_mismatch';
const OUTCOMES: Outcome[] = ['repaired', 'replayed_stream', 'repaired_out_of_order', 'missing_from_store', 'hash_mismatch'];

/**
 * Projections that take a stream's events in any order: the audit log and the subject index (rows
 * per position) and batches (each event fills its own fields once). The others fold a document in
 * stream revision order and pass over an event older than the revision they hold (stream-revision.ts).
 */
const ORDER_FREE = new Set(['audit-log', 'subject-events', 'batches']);

/**
 * A repaired event applied after a later event of its stream, with the projections that fold
 * that stream in order. Told as replayed (onReplayed): those projections' documents of the stream
 * were rebuilt from the event store. Told as out of order (onOutOfOrder), with the reason the
 * stream could not be rebuilt: `projections` may not reflect it.
 */
export type RepairedOutOfOrder = { position: number; stream: string; projections: string[]; reason?: string };

/**
 * The commands that rebuild `projections`, one per read model, to paste.
 * @example rebuildCommands(['tasks', 'task-steps']) // 'openmcp projections rebuild tasks; openmcp projections rebuild task-steps'
 */
export function rebuildCommands(projections: string[]): string {
  return [...new Set(projections)].map((name) => `openmcp projections rebuild ${name}`).join('; ');
}

/**
 * Whether a replay failed on the database being away or busy for a moment (isConnectionFailure,
 * or an adapter's DEPENDENCY_UNAVAILABLE), anywhere along the error's causes (a projection names
 * the events it failed on, with the driver's error as its cause): then it is tried again.
 * Anything else (a constraint, a bug, data the tables cannot hold) fails the same way each time.
 */
export function isTransientFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isConnectionFailure(e) || errorCodeOf(e) === 'DEPENDENCY_UNAVAILABLE') return true;
  }
  return false;
}

/** A stream whose replay the database failed for a moment: tried again at the first check from `at`. */
type PendingReplay = { events: RepairedOutOfOrder[]; recorded: RecordedEvent[]; failures: number; at: number };

/** Why a replay did not rebuild the stream; `transient` when the database failed for a moment. */
type ReplayFailure = { reason: string; transient: boolean };

export type GapRepairOptions = {
  /** The read models' database. */
  knex: Knex;
  /**
   * The event log, the source of truth the read models are built from. With gap-free positions
   * (the SQL store) a position the table lacks is one to repair; with gaps (KurrentDB) an event
   * of the store's log the table lacks is.
   */
  store: Pick<EventStore, 'readAll' | 'readStream' | 'gapFreePositions' | 'headPosition'>;
  /** The bus's own path into the read models: Projector.applyEvents (idempotent, as redelivery needs). */
  apply: (events: RecordedEvent[]) => Promise<void>;
  /**
   * Rebuilds a stream's documents from all its events (Projector.replayStream): false when the
   * bus applied a later event of the stream than those given. Without it a repaired event applied
   * after a later one of its stream is only told (onOutOfOrder).
   */
  replay?: (events: RecordedEvent[]) => Promise<boolean>;
  /** How long a position may stay unapplied while a later one is applied (PROJECTION_GAP_REPAIR_MS). */
  afterMs: number;
  clock?: Clock;
  registry?: Registry;
  /** Told of the positions read from the store and applied. */
  onRepaired?: (positions: number[]) => void;
  /** Told when a position cannot be repaired (the store lacks it, or its hash does not check): it stays held. */
  onHeld?: (position: number, reason: string) => void;
  /**
   * Told of repaired events a later event of whose stream had been applied first (the bus lost
   * the start of a stream and delivered its end), once the named projections' documents of those
   * streams were rebuilt from every event of the stream in the store (`replay`).
   */
  onReplayed?: (events: RepairedOutOfOrder[]) => void;
  /**
   * Told of such events whose stream could not be rebuilt (`reason`: an event of it the store
   * gives with a hash that does not check, a projection refusing the replay, the database failing
   * at each of REPLAY_ATTEMPTS tries, the repair stopped while a try was due, no `replay`): the
   * named projections passed them over, or folded them onto nothing, and may show that stream's
   * task, tool call or MCP server in an older or incomplete state until `openmcp projections
   * rebuild <name>` (rebuildCommands). Told once per stream.
   */
  onOutOfOrder?: (events: RepairedOutOfOrder[]) => void;
  /**
   * Told when a stream's replay failed because the database failed for a moment
   * (isTransientFailure): it is tried again at the first check `retryInMs` from now (`failures`
   * of REPLAY_ATTEMPTS used); the stream is meanwhile shown as the projections folded it.
   */
  onReplayRetry?: (events: RepairedOutOfOrder[], reason: string, retryInMs: number, failures: number) => void;
  /** Told of each error a stream's replay threw (then told onReplayRetry or onOutOfOrder): to count it among the background errors. */
  onReplayError?: (err: unknown) => void;
  /** The projector's projections (appliersFor(store); default defaultAppliers()), to name those an event out of order may have left behind. */
  appliers?: ProjectionApplier[];
  /**
   * Told of repaired events once the read models show them as a delivery from the bus would have
   * made them: applied, and their stream rebuilt where a later event of it was applied first (or
   * reported as not rebuilt). Their live notices went out before (the dashboard's, after its wait
   * for the read models ran out): told so that they go out again (LiveHub.announceAgain).
   */
  onShown?: (events: RecordedEvent[]) => void;
  /** Told when a check failed (the database down, the projection refusing the event; tried again after `afterMs`). A stream's replay failing is told onReplayRetry or onOutOfOrder. */
  onError?: (err: unknown) => void;
};

/**
 * Positions for a log line: all of them up to ten, else the first ten and how many more.
 * @example positionsText([4, 9]) // 'positions 4, 9'
 */
export function positionsText(positions: number[]): string {
  const shown = positions.slice(0, 10).join(', ');
  const word = positions.length === 1 ? 'position' : 'positions';
  return positions.length <= 10 ? `${word} ${shown}` : `${positions.length} positions (${shown}, … ${positions[positions.length - 1]})`;
}

function repairsCounter(registry: Registry): Counter<'outcome'> {
  const existing = registry.getSingleMetric(GAP_REPAIRS_METRIC) as Counter<'outcome'> | undefined;
  if (existing) return existing;
  const counter = new Counter({
    name: GAP_REPAIRS_METRIC,
    help: 'Positions the read models lacked while later ones were applied for longer than PROJECTION_GAP_REPAIR_MS (the bus never delivered them), by outcome: repaired (read from the event store and applied), replayed_stream (applied after a later event of its stream, whose documents were then rebuilt from the event store), repaired_out_of_order (the same, but the stream could not be rebuilt: the read models named in the error log need a rebuild), missing_from_store or hash_mismatch (not repaired: the audit list stays held there)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of OUTCOMES) counter.inc({ outcome }, 0);
  return counter;
}

/**
 * Repairs the read models where the bus lost an event. GET /v1/events is held at the first
 * position the audit log lacks (gap-free positions, the SQL store) or at the first event of the
 * store's log it lacks (KurrentDB's positions, with gaps: StoreAppliedThrough), which is right
 * while a Kafka partition is only late; but an event Kafka no longer has (retention deleted it
 * before the group read it, a recreated topic, an unclean leader election) would hold it for
 * good. So a position still missing `afterMs` after a later position was applied is read from the
 * event store by position and applied through the projector, as a redelivery would be: nothing
 * changes if the bus delivers it after all. Its hash is checked first; an event the store does
 * not give back, or gives with a hash that does not check, is never skipped: it stays held, is
 * reported and counted, and is tried again after another `afterMs`.
 *
 * What the bus lost is mostly the start of a partition's log, so a later event of a repaired
 * event's stream was often applied first, and the projections that fold a stream in order passed
 * over the events in the wrong order. Such a stream is then read back whole from the store,
 * hash-checked, and its documents rebuilt from it (`replay`); one that cannot be is reported
 * (onOutOfOrder) for a rebuild of those projections.
 *
 * "Applied for longer than the bound" is read from samples of the audit log's head: every
 * position below the head seen `afterMs` ago was in the log then (both stores commit in
 * position order) and has had a later one applied since at least then. Each projector process
 * runs one; two may repair the same position, which the projector applies once.
 * @example const repair = new GapRepair({ knex, store, apply: (e) => projector.applyEvents(e), afterMs: 300_000 }); repair.start();
 */
export class GapRepair {
  private readonly prefix: AuditAppliedThrough | StoreAppliedThrough;
  private readonly table = LIVE_TABLES.auditEvents;
  private readonly clock: Clock;
  private readonly counter: Counter<'outcome'>;
  private readonly inOrder: ProjectionApplier[];
  /** The audit log's head as checks found it, oldest first; only the newest at least `afterMs` old is needed. */
  private readonly samples: Array<{ at: number; head: number }> = [];
  /** No new attempt before this time after one that failed or found a position it cannot repair. */
  private retryAt = 0;
  /** Streams whose replay the database failed for a moment, by stream: tried again by later checks. */
  private readonly pendingReplays = new Map<string, PendingReplay>();
  /** Events the repair applied whose check for a later event of their stream the database failed: checked at the next check. */
  private readonly unchecked: RecordedEvent[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: GapRepairOptions) {
    this.prefix = options.store.gapFreePositions === true ? new AuditAppliedThrough(options.knex, this.table) : new StoreAppliedThrough(options.knex, options.store, this.table);
    this.clock = options.clock ?? systemClock;
    this.counter = repairsCounter(options.registry ?? defaultRegistry);
    this.inOrder = (options.appliers ?? defaultAppliers()).filter((a) => !ORDER_FREE.has(a.name));
  }

  /** Checks every `intervalMs` (default: a tenth of `afterMs`, 1 s to 30 s) until stop(). */
  start(intervalMs = Math.min(30_000, Math.max(1000, this.options.afterMs / 10))): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.check()
        .catch((err: unknown) => this.options.onError?.(err))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  /**
   * Stops after the chunk in hand (a check with many positions overdue repairs them chunk by
   * chunk). A stream whose replay was to be tried again is reported (onOutOfOrder), as are
   * repaired events not yet checked for a later event of their stream (the database failed that
   * check): no other process knows of them, and the read models would show them incomplete without a word.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    for (const [stream, pending] of this.pendingReplays) {
      this.pendingReplays.delete(stream);
      this.leftOutOfOrder(pending, `the repair stopped before its next try (the database failed ${pending.failures} of ${REPLAY_ATTEMPTS})`);
    }
    // Applied, but whether a later event of their stream was applied first is not known: those a projection folds in order may need a rebuild.
    const unchecked = this.unchecked.splice(0);
    const inOrder = unchecked.map((e) => ({ position: e.position, stream: e.stream, projections: this.inOrder.filter((a) => a.canHandle(e)).map((a) => a.name) })).filter((x) => x.projections.length);
    if (inOrder.length) this.leftOutOfOrder({ events: inOrder, recorded: unchecked, failures: 0, at: 0 }, 'the repair stopped before it could check whether a later event of the stream had been applied first (the database failed that check)');
  }

  /** Wait before the replay of a stream that failed `failures` times is tried again: the check interval, doubled each time, at most `afterMs`. */
  private replayRetryMs(failures: number): number {
    const first = Math.min(30_000, Math.max(1000, this.options.afterMs / 10));
    return Math.min(this.options.afterMs, first * 2 ** (failures - 1));
  }

  /** One check: tries again the replays due, then repairs every position missing below the head seen `afterMs` ago. */
  async check(): Promise<void> {
    const now = this.clock().getTime();
    this.samples.push({ at: now, head: await auditHead(this.options.knex, this.table) });
    await this.retryReplays(now);
    if (this.unchecked.length && !this.stopped) await this.afterApplied(this.unchecked.splice(0));
    let old = -1;
    for (let i = 0; i < this.samples.length && this.samples[i].at <= now - this.options.afterMs; i++) old = i;
    if (old < 0) return;
    this.samples.splice(0, old);
    const horizon = this.samples[0].head;
    if (now < this.retryAt) return;
    try {
      // Each round applies at least the position right after the complete prefix, or stops.
      let through = -2;
      while (!this.stopped) {
        const next = await this.prefix.find();
        if (next <= through || !(await this.repairAfter(next, horizon))) break;
        through = next;
      }
    } catch (err) {
      this.retryAt = now + this.options.afterMs;
      throw err;
    }
  }

  /**
   * Applies the missing positions of the chunk after `through` (the complete prefix), below
   * `horizon`. False when there is nothing to do, or a position cannot be repaired.
   */
  private async repairAfter(through: number, horizon: number): Promise<boolean> {
    if (through + 1 >= horizon) return false;
    const gapFree = this.options.store.gapFreePositions === true;
    const read = await this.options.store.readAll({ after: through, limit: gapFree ? Math.min(horizon - 1, through + REPAIR_CHUNK) - through : REPAIR_CHUNK });
    const stored = new Map(read.filter((e) => e.position < horizon).map((e) => [e.position, e]));
    // Gap-free: every position up to the chunk's end is an event; with gaps, those the store read gave.
    const expected = gapFree ? Array.from({ length: Math.min(horizon - 1, through + REPAIR_CHUNK) - through }, (_, i) => through + 1 + i) : [...stored.keys()];
    if (!expected.length) return false;
    const last = expected[expected.length - 1];
    const present = new Set(
      (await this.options.knex(this.table).whereBetween('position', [through + 1, last]).select('position')).map((r) => Number(r.position)),
    );
    const missing: RecordedEvent[] = [];
    let held: { position: number; outcome: Outcome; reason: string } | undefined;
    for (const p of expected) {
      if (held) break;
      if (present.has(p)) continue;
      const e = stored.get(p);
      if (!e) held = { position: p, outcome: 'missing_from_store', reason: `position ${p} is not in the event store either` };
      else if (!verifyEventHash(e)) held = { position: p, outcome: 'hash_mismatch', reason: `the event store's event ${e.id} at position ${p} does not match its hash ${e.hash}` };
      else missing.push(e);
    }
    if (missing.length) {
      await this.options.apply(missing);
      await this.afterApplied(missing);
    }
    if (held) {
      this.counter.inc({ outcome: held.outcome });
      this.retryAt = this.clock().getTime() + this.options.afterMs;
      this.options.onHeld?.(held.position, held.reason);
      return false;
    }
    return missing.length > 0;
  }

  /**
   * Counts and tells `missing`, just applied, and rebuilds the streams a later event of which was
   * applied first. When the database fails the check for those, the events are checked again at
   * the next check (unchecked): they are applied now, and no later check would find them missing.
   */
  private async afterApplied(missing: RecordedEvent[]): Promise<void> {
    let late: RepairedOutOfOrder[];
    try {
      late = await this.appliedAfterLater(missing);
    } catch (err) {
      this.unchecked.push(...missing);
      throw err;
    }
    const positions = missing.map((e) => e.position);
    this.counter.inc({ outcome: 'repaired' }, positions.length - late.length);
    this.options.onRepaired?.(positions);
    const replayed: RepairedOutOfOrder[] = [];
    const left: RepairedOutOfOrder[] = [];
    for (const stream of new Set(late.map((x) => x.stream))) {
      const mine = late.filter((x) => x.stream === stream);
      // Already waiting for a try after the database failed it: the events join that one.
      const pending = this.pendingReplays.get(stream);
      if (pending) {
        pending.events.push(...mine);
        continue;
      }
      const failed = await this.replayStream(stream);
      if (!failed) replayed.push(...mine);
      else if (failed.transient) this.deferReplay(stream, { events: mine, recorded: [], failures: 0, at: 0 }, failed.reason);
      else left.push(...mine.map((x) => ({ ...x, reason: failed.reason })));
    }
    if (replayed.length) {
      this.counter.inc({ outcome: 'replayed_stream' }, replayed.length);
      this.options.onReplayed?.(replayed);
    }
    if (left.length) {
      this.counter.inc({ outcome: 'repaired_out_of_order' }, left.length);
      this.options.onOutOfOrder?.(left);
    }
    // Those of a stream whose replay is to be tried again are told once it has been: all of
    // them, also one no later event of which was applied (its stream waiting from an earlier chunk).
    const shown: RecordedEvent[] = [];
    for (const e of missing) {
      const pending = this.pendingReplays.get(e.stream);
      if (pending) pending.recorded.push(e);
      else shown.push(e);
    }
    if (shown.length) this.options.onShown?.(shown);
  }

  /**
   * Rebuilds `stream`'s documents from every event of it in the store, hash-checked: undefined
   * when done, else why not. Read again when the bus applied a later event of the stream meanwhile.
   */
  private async replayStream(stream: string): Promise<ReplayFailure | undefined> {
    const replay = this.options.replay;
    if (!replay) return { reason: 'streams are not replayed here', transient: false };
    try {
      for (let i = 0; i < REPLAY_TRIES; i++) {
        const events = await this.options.store.readStream(stream);
        const bad = events.find((e) => !verifyEventHash(e));
        if (bad) return { reason: `the event store's event ${bad.id} at position ${bad.position} does not match its hash ${bad.hash}`, transient: false };
        if (await replay(events)) return undefined;
      }
      return { reason: `the bus applied later events of the stream during each of ${REPLAY_TRIES} replays`, transient: false };
    } catch (err) {
      this.options.onReplayError?.(err);
      return { reason: `its replay failed: ${err instanceof Error ? err.message : String(err)}`, transient: isTransientFailure(err) };
    }
  }

  /** A replay of `stream` the database failed for a moment, once more: tried again later, or reported after REPLAY_ATTEMPTS. */
  private deferReplay(stream: string, pending: PendingReplay, reason: string): void {
    pending.failures++;
    if (pending.failures >= REPLAY_ATTEMPTS) {
      this.pendingReplays.delete(stream);
      this.leftOutOfOrder(pending, `${reason} (the database failed each of ${REPLAY_ATTEMPTS} tries)`);
      return;
    }
    const wait = this.replayRetryMs(pending.failures);
    pending.at = this.clock().getTime() + wait;
    this.pendingReplays.set(stream, pending);
    this.options.onReplayRetry?.(pending.events, reason, wait, pending.failures);
  }

  /** Tries again the replays due at `now` (the database failed them for a moment before). */
  private async retryReplays(now: number): Promise<void> {
    for (const [stream, pending] of [...this.pendingReplays]) {
      if (this.stopped || pending.at > now) continue;
      const failed = await this.replayStream(stream);
      if (!failed) {
        this.pendingReplays.delete(stream);
        this.counter.inc({ outcome: 'replayed_stream' }, pending.events.length);
        this.options.onReplayed?.(pending.events);
        this.options.onShown?.(pending.recorded);
      } else if (failed.transient) this.deferReplay(stream, pending, failed.reason);
      else {
        this.pendingReplays.delete(stream);
        this.leftOutOfOrder(pending, failed.reason);
      }
    }
  }

  /** Counts and tells (onOutOfOrder) the repaired events of a stream given up on, for `reason`; then tells them shown (as the projections folded them). */
  private leftOutOfOrder(pending: PendingReplay, reason: string): void {
    this.counter.inc({ outcome: 'repaired_out_of_order' }, pending.events.length);
    this.options.onOutOfOrder?.(pending.events.map((x) => ({ ...x, reason })));
    this.options.onShown?.(pending.recorded);
  }

  /**
   * The events among `events` (just applied by the repair) that a projection folding its
   * documents in stream order handles while the audit log holds a later event of their stream
   * the bus applied (not one of `events`), with those projections. Read after the repair's own
   * write, so that a later event the bus applied while the repair ran (after a check before it,
   * and before its write) is seen too; one the bus applied right after that write is taken for
   * applied first as well, and its stream replayed to the same documents, harmlessly.
   */
  private async appliedAfterLater(events: RecordedEvent[]): Promise<RepairedOutOfOrder[]> {
    const ordered = events.map((e) => ({ e, projections: this.inOrder.filter((a) => a.canHandle(e)).map((a) => a.name) })).filter((x) => x.projections.length);
    if (!ordered.length) return [];
    const streams = [...new Set(ordered.map((x) => x.e.stream))];
    const own = events.map((e) => e.position);
    // The (stream, position) index: each stream's last position the bus applied.
    const rows: Array<{ stream: string; p: number | string }> = await this.options
      .knex(this.table)
      .whereIn('stream', streams)
      .whereNotIn('position', own)
      .groupBy('stream')
      .select('stream')
      .max({ p: 'position' });
    const last = new Map(rows.map((r) => [String(r.stream), Number(r.p)]));
    return ordered.filter((x) => (last.get(x.e.stream) ?? -1) > x.e.position).map((x) => ({ position: x.e.position, stream: x.e.stream, projections: x.projections }));
  }
}
