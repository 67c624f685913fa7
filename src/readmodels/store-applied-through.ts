import type { Knex } from 'knex';
import type { EventStore } from '../eventstore/port';
import { advanceCheckpoints } from '../projector/checkpoints';
import { CHECKPOINT_TABLE } from '../../projections/tables';
import { auditHead } from './audit-applied-through';

/**
 * Where the position up to which the audit log is complete is kept, beside the projections'
 * checkpoints: every process starts from it instead of reading the whole log again.
 */
export const AUDIT_COMPLETE_CHECKPOINT = 'audit-log:complete';

/** Events of the store read per round, and rounds per find: a find's cost is bounded, a backlog taken over several. */
const CHUNK = 256;
const ROUNDS = 8;

/**
 * The last position up to which the audit log table holds every event of the event store, on a
 * store whose positions have gaps (KurrentDB's commit positions: the SQL store's are counted by
 * AuditAppliedThrough): the store's log is read forward from the last such position found (events
 * only, as the sealer reads it: no system or foreign records) while each of its positions is in
 * the table. -1 for none.
 *
 * The log is append-only in position order and the table insert-only, so a position found
 * complete stays so: it is kept in the checkpoints table (AUDIT_COMPLETE_CHECKPOINT), raised and
 * never lowered, so processes that find it at once (API replicas, projectors) never move it back.
 * The store's first position past it is kept too: while the table lacks that one (a partition
 * held up) a find is one lookup, and reads nothing from the store.
 * @example const through = await new StoreAppliedThrough(knex, store, LIVE_TABLES.auditEvents).find()
 */
export class StoreAppliedThrough {
  private through = -1;
  /** The store's first position after `through`, once read: missing from the table when last looked. */
  private next?: number;

  constructor(
    private readonly db: Knex,
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly table: string,
  ) {}

  async find(): Promise<number> {
    const saved = await this.db(CHECKPOINT_TABLE).where('projection', AUDIT_COMPLETE_CHECKPOINT).first('position');
    if (saved && Number(saved.position) > this.through) {
      this.through = Number(saved.position);
      if (this.next !== undefined && this.next <= this.through) this.next = undefined;
    }
    const from = this.through;
    const head = await auditHead(this.db, this.table);
    if (head <= from) return from;
    if (this.next !== undefined && !(await this.db(this.table).where('position', this.next).first('position'))) return from;
    let through = from;
    for (let round = 0; round < ROUNDS; round++) {
      const events = await this.store.readAll({ after: through, limit: CHUNK });
      if (!events.length) break;
      const upTo = Math.min(head, events[events.length - 1].position);
      const present = new Set(
        (await this.db(this.table).where('position', '>', through).andWhere('position', '<=', upTo).select('position')).map((r) => Number(r.position)),
      );
      const missing = events.find((e) => !present.has(e.position));
      for (const e of events) {
        if (e === missing) break;
        through = e.position;
      }
      this.next = missing?.position;
      if (missing || events.length < CHUNK) break;
    }
    if (through > from) {
      // Raised, never lowered (GREATEST / MAX): another process's higher find stands.
      await advanceCheckpoints(this.db, [AUDIT_COMPLETE_CHECKPOINT], through);
      this.through = Math.max(this.through, through);
    }
    return this.through;
  }
}
