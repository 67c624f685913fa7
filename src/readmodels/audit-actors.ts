import type { Knex } from 'knex';
import { dialectOf } from '../db/knex';
import type { Actor } from '../core/envelope';
import { auditActor } from '../../projections/subject-events.projection';

/** Audit rows read per query. */
const ROWS = 1000;
/** An actor id the database's JSON functions give exactly: short printable ASCII, no `?` (MariaDB's stand-in for what it cannot convert). */
const EXACT = /^[\x20-\x3e\x40-\x7e]{0,200}$/;

/**
 * Fill the `actor` column (auditActor) of the audit rows of `table` that lack it, in position
 * order, a slice of ROWS at a time: outside a transaction each slice commits on its own, and a
 * stopped run goes on where it stopped (the rows still without one). The kind and id are read by the
 * database's JSON functions (not the bodies, up to 4 MiB each); the rare id that comes back
 * other than short printable ASCII is read from its body, so the value is the one the audit-log
 * applier writes. Rows an older release's projector wrote have none: `openmcp projections
 * rebuild subject-events` fills them too.
 * @example await fillAuditActors(knex, 'rm_audit_events') // 1234 rows filled
 */
export async function fillAuditActors(knex: Knex | Knex.Transaction, table: string): Promise<number> {
  // MariaDB gives NULL for what it cannot read (nesting past its 32 levels: read from the body).
  // SQLite's json_extract fails the whole query on a body past its 1,000 levels, which an
  // upstream result may reach (MAX_RESULT_DEPTH): json_valid says 0 for it, and it is read from its body.
  const json = (path: string) =>
    dialectOf(knex as Knex) === 'mysql' ? knex.raw(`JSON_VALUE(body, '${path}')`) : knex.raw(`CASE WHEN json_valid(body) THEN json_extract(body, '${path}') END`);
  let filled = 0;
  for (let after = -1; ; ) {
    const rows: { position: number | string; kind: string | null; id: string | null }[] = await knex(table)
      .select('position', { kind: json('$.actor.kind') }, { id: json('$.actor.id') })
      .whereNull('actor')
      .where('position', '>', after)
      .orderBy('position')
      .limit(ROWS);
    if (!rows.length) return filled;
    const byActor = new Map<string, number[]>();
    for (const r of rows) {
      let actor: Actor = { kind: String(r.kind) as Actor['kind'], id: String(r.id) };
      if (r.kind === null || r.id === null || !EXACT.test(String(r.id))) {
        const body = await knex(table).where('position', r.position).first('body');
        actor = (JSON.parse(String(body.body)) as { actor: Actor }).actor;
      }
      const value = auditActor(actor);
      const positions = byActor.get(value);
      if (positions) positions.push(Number(r.position));
      else byActor.set(value, [Number(r.position)]);
    }
    for (const [actor, positions] of byActor) await knex(table).whereIn('position', positions).update({ actor });
    filled += rows.length;
    after = Number(rows[rows.length - 1].position);
  }
}
