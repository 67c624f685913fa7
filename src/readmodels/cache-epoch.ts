import type { Knex } from 'knex';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';

/**
 * The read cache's epoch, kept in the read models' database. Every read-cache key carries it
 * (`rm:<epoch>:…`, cache-keys.ts), and readers read it from the database on every cached read:
 * raising it retires every cached view at once, in every process sharing the database, whether
 * or not they can reach Redis at that moment (the entries of older epochs are never read again
 * and expire). It is raised when the projector could not refresh the views a batch changed
 * (Redis down or hung) and when a rebuild swaps tables in.
 */
export async function readCacheEpoch(db: Knex): Promise<number> {
  const row = await db(CACHE_EPOCH_TABLE).where('id', 1).first('epoch');
  return row ? Number(row.epoch) : 0;
}

/**
 * Raise the epoch by one (atomically: concurrent raises each count). Requires the migration's
 * row: without it nothing could be retired, so its absence is an error, never a silent no-op.
 */
export async function bumpCacheEpoch(db: Knex): Promise<void> {
  const changed = Number(await db(CACHE_EPOCH_TABLE).where('id', 1).increment('epoch', 1));
  if (changed !== 1) throw new Error(`${CACHE_EPOCH_TABLE} has no row: the read cache cannot be invalidated; run the migrations (openmcp start does)`);
}
