import type { Knex } from 'knex';
import type { Actor, RecordedEvent } from '../core/envelope';
import { auditActor, subjectRefs } from '../../projections/subject-events.projection';
import { insertNewRows } from '../../projections/sql-rows';
import { SLICE_ROWS, type SizedRow } from './audit-slices';
import { fitting } from './page-fit';

/**
 * Fill the actor column (auditActor) of the first rows of `sized` (audit rows of `table` without
 * one, in position order) whose bodies fit a slice (fitting: MAX_PAGE_CHARS, at least one), and, given `subjectEvents`, first
 * their rows in that subject index (subjectRefs): a run stopped between the two leaves the actor
 * empty, so the next finds the row again, and the index rows are inserted once (by their key).
 * The actor is read from each body with JSON.parse, the applier's own reading, not by the
 * database's JSON functions: those differ by server (MariaDB answers NULL past 32 levels of
 * nesting, SQLite's json_extract fails the whole query past 1,000, MySQL 8 raises an error past 100
 * or before 8.0.21), and an upstream result may nest 1,000 levels (MAX_RESULT_DEPTH).
 * Requires `sized` non-empty. Returns how many rows it filled and the last position it took.
 */
export async function fillAuditSlice(knex: Knex | Knex.Transaction, table: string, sized: readonly SizedRow[], subjectEvents?: string): Promise<{ filled: number; last: number }> {
  const taken = fitting(sized, sized.length);
  const rows: { position: number | string; tenant: string; body: string }[] = await knex(table)
    .select('position', 'tenant', 'body')
    .whereIn('position', sized.slice(0, taken).map((r) => r.position));
  const events = rows.map((r) => ({ tenant: r.tenant, position: Number(r.position), event: JSON.parse(String(r.body)) as RecordedEvent & { actor: Actor } }));
  if (subjectEvents !== undefined) {
    await insertNewRows(knex, subjectEvents, ['tenant', 'ref', 'position'], events.flatMap((r) => subjectRefs(r.event).map((ref) => ({ tenant: r.tenant, ref, position: r.position }))));
  }
  const byActor = new Map<string, number[]>();
  for (const r of events) {
    const value = auditActor(r.event.actor);
    const positions = byActor.get(value);
    if (positions) positions.push(r.position);
    else byActor.set(value, [r.position]);
  }
  for (const [actor, positions] of byActor) await knex(table).whereIn('position', positions).update({ actor });
  return { filled: rows.length, last: Number(sized[taken - 1].position) };
}

/**
 * Fill the `actor` column (auditActor) of the audit rows of `table` that lack it, in position
 * order, a slice of at most SLICE_ROWS rows and MAX_PAGE_CHARS characters of bodies at a time
 * (fillAuditSlice), given `subjectEvents` each slice's rows in that subject index first: outside a
 * transaction each slice commits on its own, and a stopped run goes on where it stopped (the rows
 * still without one). Reads the table in position order, filtering
 * on the column: for the migration that adds it (every row to fill, the actor index not built
 * yet) and rebuilds; what an older release's projector leaves empty later is found along the
 * actor index instead (repairSubjectIndex).
 * @example await fillAuditActors(knex, 'rm_audit_events') // 1234 rows filled
 */
export async function fillAuditActors(knex: Knex | Knex.Transaction, table: string, subjectEvents?: string): Promise<number> {
  let filled = 0;
  for (let after = -1; ; ) {
    const sized: SizedRow[] = await knex(table)
      .select('position', knex.raw('LENGTH(body) AS size'))
      .whereNull('actor')
      .where('position', '>', after)
      .orderBy('position')
      .limit(SLICE_ROWS);
    if (!sized.length) return filled;
    const slice = await fillAuditSlice(knex, table, sized, subjectEvents);
    filled += slice.filled;
    after = slice.last;
  }
}
