import type { Knex } from 'knex';

export type SubjectPositionsParameters = {
  tenant: string;
  /** The subject's refs (refsOfSubject). */
  refs: readonly string[];
  /** Exclusive. */
  after?: number;
  /** Inclusive: the audit log's applied prefix on a gap-free store (listAuditEvents). */
  through?: number;
  limit: number;
};

/**
 * The first `limit` positions, ascending, of the subject index rows of `tenant` under any of
 * `refs` in (`after`, `through`]. Each ref is one range of the index's key read up to `limit`
 * rows, and the smallest `limit` of their union are those of the whole: a page costs
 * refs × limit index entries however large the log or the subject's history.
 * @example await subjectPositions(knex, 'rm_subject_events', { tenant: 'acme', refs, after: 41, limit: 101 })
 */
export async function subjectPositions(db: Knex, table: string, p: SubjectPositionsParameters): Promise<number[]> {
  const ranges = await Promise.all(
    p.refs.map((ref) => {
      const q = db(table).where({ tenant: p.tenant, ref }).select('position');
      if (p.after !== undefined) q.where('position', '>', p.after);
      if (p.through !== undefined) q.where('position', '<=', p.through);
      return q.orderBy('position', 'asc').limit(p.limit);
    }),
  );
  const all = new Set(ranges.flat().map((r) => Number(r.position)));
  return [...all].sort((a, b) => a - b).slice(0, p.limit);
}
