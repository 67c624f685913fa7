import type { Knex } from 'knex';
import { dialectOf } from '../src/db/knex';
import { CHECKPOINT_TABLE } from './tables';

/**
 * Raise each projection's watermark to `position` (never lower it: under Kafka a batch from a
 * lagging partition carries lower positions than one already applied).
 */
export async function advanceCheckpoints(trx: Knex, projections: string[], position: number): Promise<void> {
  if (!projections.length) return;
  const now = new Date().toISOString();
  const values = projections.map(() => '(?, ?, ?)').join(', ');
  const bindings = projections.flatMap((p) => [p, position, now]);
  if (dialectOf(trx) === 'mysql') {
    await trx.raw(
      `INSERT INTO ${CHECKPOINT_TABLE} (projection, position, updated_at) VALUES ${values}
       ON DUPLICATE KEY UPDATE position = GREATEST(position, VALUES(position)), updated_at = VALUES(updated_at)`,
      bindings,
    );
  } else {
    await trx.raw(
      `INSERT INTO ${CHECKPOINT_TABLE} (projection, position, updated_at) VALUES ${values}
       ON CONFLICT(projection) DO UPDATE SET position = MAX(position, excluded.position), updated_at = excluded.updated_at`,
      bindings,
    );
  }
}

/** Every projection's watermark (-1 when it has applied nothing). */
export async function readCheckpoints(db: Knex): Promise<Map<string, number>> {
  const rows = await db(CHECKPOINT_TABLE).select('projection', 'position');
  return new Map(rows.map((r) => [String(r.projection), Number(r.position)]));
}
