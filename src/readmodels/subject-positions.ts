import type { Knex } from 'knex';
import type { IndexHints } from '../db/index-names';
import { dialectOf } from '../db/knex';

/** One index range of a subject's events: the rows of `table` matching `where`, read along `index`. */
export type SubjectRange = {
  table: string;
  /** The columns of the index to read (MySQL/MariaDB are told it: IndexHints). */
  index: readonly string[];
  where: Record<string, string>;
  /**
   * Also matched, but never by an index: SQLite, never told which index to read, reads a stream's
   * rows along (tenant, position) when the tenant is given too, all of the tenant's log from the cursor on.
   */
  alsoWhere?: Record<string, string>;
};

export type SubjectPositionsParameters = {
  ranges: readonly SubjectRange[];
  /** Exclusive. */
  after?: number;
  /** Inclusive: the audit log's applied prefix on a gap-free store (listAuditEvents). */
  through?: number;
  limit: number;
};

/**
 * The first `limit` positions, ascending, of the union of `ranges` in (`after`, `through`]. Each
 * range is read up to `limit` rows along its index, and the smallest `limit` of their union are
 * those of the whole: a page costs ranges × limit index entries however large the log or the
 * subject's history.
 * @example await subjectPositions(knex, hints, { ranges: [{ table: 'rm_audit_events', index: ['tenant', 'actor', 'position'], where: { tenant: 'acme', actor } }], after: 41, limit: 101 })
 */
export async function subjectPositions(db: Knex, hints: IndexHints, p: SubjectPositionsParameters): Promise<number[]> {
  const ranges = await Promise.all(
    p.ranges.map((r) =>
      hints.run(r.table, r.index, (from) => {
        const q = db.from(from).where(r.where).select('position');
        // SQLite's `+column` is the column, but no index's.
        for (const [column, value] of Object.entries(r.alsoWhere ?? {})) q.whereRaw(dialectOf(db) === 'sqlite' ? '+?? = ?' : '?? = ?', [column, value]);
        if (p.after !== undefined) q.where('position', '>', p.after);
        if (p.through !== undefined) q.where('position', '<=', p.through);
        return q.orderBy('position', 'asc').limit(p.limit);
      }),
    ),
  );
  const all = new Set(ranges.flat().map((r: { position: number | string }) => Number(r.position)));
  return [...all].sort((a, b) => a - b).slice(0, p.limit);
}
