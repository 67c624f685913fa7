import type { Knex } from 'knex';
import type { IndexHints } from '../db/index-names';
import { AUDIT_STREAM_INDEX } from './schema';
import { auditActor, indexedRef, kidRef } from '../../projections/subject-events.projection';
import { chunks } from '../../projections/sql-rows';
import type { ReadModelTables } from '../../projections/tables';
import type { SubjectEventFilter } from './port';

/**
 * Which of `streams` (of `tenant`) hold an event of the subject (`actor`, or sealed under one of
 * `kids`: subjectRanges' events of a task's or call's stream) at or before `after`: those an
 * earlier page of the subject's events named. Read along the audit log's (stream, position) index (`hints`),
 * each stream's rows up to `after` only. None when `after` is absent (the first page).
 * @example await subjectStreamsBefore(db, hints, LIVE_TABLES, 'acme', ['task-0193…'], { actor, kids, after: 41 }) // Set { 'task-0193…' }
 */
export async function subjectStreamsBefore(db: Knex, hints: IndexHints | undefined, t: ReadModelTables, tenant: string, streams: readonly string[], s: Omit<SubjectEventFilter, 'limit'>): Promise<Set<string>> {
  const out = new Set<string>();
  const after = s.after;
  if (after === undefined || after < 0) return out;
  const refs = [...new Set(s.kids.map((kid) => indexedRef(kidRef(kid))))];
  for (const part of chunks([...new Set(streams)], 500)) {
    const a = (column: string) => `${t.auditEvents}.${column}`;
    const query = (from: string | Knex.Raw) =>
      db
        .from(from)
        .distinct(a('stream'))
        .where(a('tenant'), tenant)
        .whereIn(a('stream'), part)
        .where(a('position'), '<=', after)
        .where((w) => {
          w.where(a('actor'), auditActor(s.actor));
          if (refs.length) w.orWhereExists(db({ x: t.subjectEvents }).select(db.raw('1')).whereRaw('?? = ??', ['x.position', a('position')]).where('x.tenant', tenant).whereIn('x.ref', refs));
        });
    // MySQL told to read each stream's rows (IndexHints): it would read the tenant's up to `after` instead.
    const rows: { stream: string }[] = hints ? await hints.run(t.auditEvents, AUDIT_STREAM_INDEX, query) : await query(t.auditEvents);
    for (const r of rows) out.add(String(r.stream));
  }
  return out;
}
