import type { Knex } from 'knex';
import type { Actor } from '../core/envelope';
import { auditActor } from '../../projections/subject-events.projection';

/** Audit rows read per query, and the most characters of their bodies one read holds (one event holds up to 4 MiB). */
const ROWS = 1000;
const CHARS = 16 * 1024 * 1024;

/**
 * Fill the `actor` column (auditActor) of the audit rows of `table` that lack it, in position
 * order, a slice of at most ROWS rows and CHARS characters of bodies at a time: outside a
 * transaction each slice commits on its own, and a stopped run goes on where it stopped (the rows
 * still without one). The actor is read from each body with JSON.parse, the applier's own reading,
 * not by the database's JSON functions: those differ by server (MariaDB answers NULL past 32
 * levels of nesting, SQLite's json_extract fails the whole query past 1,000, MySQL 8 raises an
 * error past 100 or before 8.0.21), and an upstream result may nest 1,000 levels
 * (MAX_RESULT_DEPTH): one such event would stop the upgrade. Rows an older release's projector
 * wrote have none: `openmcp projections rebuild subject-events` fills them too.
 * @example await fillAuditActors(knex, 'rm_audit_events') // 1234 rows filled
 */
export async function fillAuditActors(knex: Knex | Knex.Transaction, table: string): Promise<number> {
  let filled = 0;
  for (let after = -1; ; ) {
    const sized: { position: number | string; size: number | string | null }[] = await knex(table)
      .select('position', knex.raw('LENGTH(body) AS size'))
      .whereNull('actor')
      .where('position', '>', after)
      .orderBy('position')
      .limit(ROWS);
    if (!sized.length) return filled;
    let taken = 0;
    for (let chars = 0; taken < sized.length; taken++) {
      chars += Number(sized[taken].size ?? 0);
      if (taken > 0 && chars > CHARS) break;
    }
    const rows: { position: number | string; body: string }[] = await knex(table)
      .select('position', 'body')
      .whereIn('position', sized.slice(0, taken).map((r) => r.position));
    const byActor = new Map<string, number[]>();
    for (const r of rows) {
      const value = auditActor((JSON.parse(String(r.body)) as { actor: Actor }).actor);
      const positions = byActor.get(value);
      if (positions) positions.push(Number(r.position));
      else byActor.set(value, [Number(r.position)]);
    }
    for (const [actor, positions] of byActor) await knex(table).whereIn('position', positions).update({ actor });
    filled += rows.length;
    after = Number(sized[taken - 1].position);
  }
}
