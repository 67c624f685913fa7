import type { Knex } from 'knex';
import type { RecordedEvent } from '../core/envelope';
import { advanceCheckpoints } from '../../projections/checkpoints';
import { CHECKPOINT_TABLE } from '../../projections/tables';

/**
 * Where the position up to which the audit log is complete is kept, beside the projections'
 * checkpoints: every process starts from it instead of reading the whole log again.
 */
export const AUDIT_COMPLETE_CHECKPOINT = 'audit-log:complete';

/** Rows (and events of the store) compared per round, and rounds per find: a find's cost is bounded, a backlog taken over several. */
const CHUNK = 256;
const ROUNDS = 8;

/**
 * What a find reads of the event store (EventStore's readAll and headPosition): the read models
 * ask it, they do not depend on the store's module (which migrates their tables).
 */
export type LogReader = {
  readAll(options: { after?: number; limit?: number }): Promise<RecordedEvent[]>;
  headPosition(): Promise<number>;
};

/**
 * The last position up to which the audit log table holds every event of the event store, on a
 * store whose positions have gaps (KurrentDB's commit positions: the SQL store's are counted by
 * AuditAppliedThrough): the store's log is read forward from the last such position found (events
 * only, as the sealer reads it: no system or foreign records), as many events as the table holds
 * rows after it, while each event's position is the table's next row. -1 for none.
 *
 * The log is append-only in position order and the table insert-only, so a position found
 * complete stays so: it is kept in the checkpoints table (AUDIT_COMPLETE_CHECKPOINT), raised and
 * never lowered, so processes that find it at once (API replicas, projectors) never move it back
 * (dropped only when a process's first find sees it past the end of the store's log: a restore).
 * The store's first position past it is kept too: while the table lacks that one (a partition
 * held up) a find is one lookup, and reads nothing from the store.
 * @example const through = await new StoreAppliedThrough(knex, store, LIVE_TABLES.auditEvents).find()
 */
export class StoreAppliedThrough {
  private through = -1;
  /** The store's first position after `through`, once read: missing from the table when last looked. */
  private next?: number;
  /**
   * The last row passed over (at or after `through`): the rows after `through` up to it are rows
   * the store does not hold, and it holds no event there. Rows are compared from it on, events
   * read from `through` (an event's position).
   */
  private passed = -1;
  /** The find running (settled when none), and the one waiting for it, shared by the calls made meanwhile. */
  private running: Promise<unknown> = Promise.resolve();
  private queued?: Promise<number>;
  /** Whether the kept position was compared with the end of the store's log (at the first find that read one). */
  private headChecked = false;

  /**
   * `onPastEnd` is told when the kept position lay past the end of the store's log, and was dropped.
   */
  constructor(
    private readonly db: Knex,
    private readonly store: LogReader,
    private readonly table: string,
    private readonly onPastEnd?: (kept: number, head: number) => void,
  ) {}

  /**
   * One find at a time; the calls made while one runs share the next, started once it is done (so
   * each caller gets a value read after it asked). A find with events applied since the last one
   * costs a round trip to the store: lists of a busy API, one find per loop turn (sharedRead),
   * would otherwise each read the same events of `$all` at once.
   */
  find(): Promise<number> {
    if (this.queued) return this.queued;
    const mine = this.running.then(() => {
      this.queued = undefined;
      return this.findNow();
    });
    this.queued = mine;
    this.running = mine.catch(() => undefined);
    return mine;
  }

  private async findNow(): Promise<number> {
    let saved = await this.db(CHECKPOINT_TABLE).where('projection', AUDIT_COMPLETE_CHECKPOINT).first('position');
    if (saved && !this.headChecked) {
      // Past the end of the log only after KurrentDB was restored from an older backup: events
      // appended since take positions below it, and would be listed before they are applied.
      // Dropped (where still past it), so that it is found again from the start of the log.
      // Once per process: one more read of the store, at its start.
      const head = await this.store.headPosition();
      const kept = Number(saved.position);
      if (head < kept) {
        await this.db(CHECKPOINT_TABLE).where('projection', AUDIT_COMPLETE_CHECKPOINT).where('position', '>', head).del();
        saved = undefined;
        this.onPastEnd?.(kept, head);
      }
    }
    this.headChecked = true;
    if (saved && Number(saved.position) > this.through) {
      this.through = Number(saved.position);
      if (this.next !== undefined && this.next <= this.through) this.next = undefined;
    }
    const from = this.through;
    if (this.next !== undefined && !(await this.db(this.table).where('position', this.next).first('position'))) return from;
    let through = from;
    let passed = Math.max(this.passed, from);
    for (let round = 0; round < ROUNDS; round++) {
      // The rows applied after it first: the store is read for as many events as those (each
      // event read is a message of its own), not for the backlog not applied yet.
      const applied = (await this.db(this.table).where('position', '>', passed).orderBy('position', 'asc').limit(CHUNK).select('position')).map((r) => Number(r.position));
      if (!applied.length) break;
      // From an event's position: the server refuses a read from inside a record (a passed row's).
      const events = await this.store.readAll({ after: through, limit: applied.length });
      // Merged in position order. A row the store does not hold (a log restored from an older
      // backup: docs/operations.md) is passed over rather than holding the list for good: the
      // store holds no event between `through` and events[k], above it, and appends land after
      // events[k]. Only below an event read: past the store's last event a restored log grows again.
      let j = 0;
      let k = 0;
      while (k < events.length && j < applied.length) {
        if (applied[j] < events[k].position) passed = applied[j++];
        else if (applied[j] === events[k].position) {
          through = passed = applied[j];
          j++;
          k++;
        } else break;
      }
      // The store's first event the table lacks, when the merge stopped before it or the rows ran out.
      this.next = events[k]?.position;
      // The next chunk of rows only after every row of this one was matched or passed over.
      if (j < applied.length || applied.length < CHUNK) break;
    }
    this.passed = Math.max(this.passed, passed);
    if (through > from) {
      // Raised, never lowered (GREATEST / MAX): another process's higher find stands.
      await advanceCheckpoints(this.db, [AUDIT_COMPLETE_CHECKPOINT], through);
      this.through = Math.max(this.through, through);
    }
    return this.through;
  }
}

/**
 * Finds the complete position until it stops advancing, or `stopped()`: at a projector's start,
 * so that after the upgrade (no AUDIT_COMPLETE_CHECKPOINT yet, the log read from its start) or a
 * long stop the lists do not take it a few thousand events at a time. Returns the position found.
 * @example void catchUpComplete(new StoreAppliedThrough(knex, store, LIVE_TABLES.auditEvents), () => stopping)
 */
export async function catchUpComplete(through: StoreAppliedThrough, stopped: () => boolean): Promise<number> {
  let found = await through.find();
  for (let last = -2; found > last && !stopped(); ) {
    last = found;
    found = await through.find();
  }
  return found;
}
