import type { Knex } from 'knex';
import type { Database, Statement } from 'better-sqlite3';
import { createTable, dialectOf, withSqliteConnection } from '../db/knex';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';

/**
 * The read cache's epoch, kept in the read models' database. Every read-cache key carries it
 * (`rm:<epoch>:…`, cache-keys.ts), and readers read it from the database for every cached read
 * (SqlReadModels shares one query between the reads asked for in one event-loop turn, made after
 * each of them was asked for: sharedRead):
 * raising it retires every cached view at once, in every process sharing the database, whether
 * or not they can reach Redis at that moment (the entries of older epochs are never read again
 * and expire). It is raised when the projector could not refresh the views a batch changed
 * (Redis down or hung), and a rebuild swaps in, with its tables, an epoch table holding a higher
 * epoch (stageCacheEpoch), so that the tables and the epoch change in one atomic step. Every
 * projector raises it when it starts, past the clock (clockEpochFloor): what the cache holds then
 * was left unwatched (Redis restarted or restored from an older snapshot while no projector ran,
 * the database restored from a backup, a projector dead between its commit and its refresh).
 */
/** Without the migration's row nothing could be retired: an error, never a silent no-op. */
function noEpochRow(): Error {
  return new Error(`${CACHE_EPOCH_TABLE} has no row: the read cache cannot be invalidated; run the migrations (openmcp start does)`);
}

// Read on every cached read: on SQLite through a statement prepared once per connection (knex
// prepares each query anew, which cost a third of a cached GET's CPU; bench/api.bench.ts).
const epochStatements = new WeakMap<Database, Statement<[], { epoch: number }>>();

export async function readCacheEpoch(db: Knex): Promise<number> {
  if (dialectOf(db) === 'sqlite') {
    return withSqliteConnection(db, (conn) => {
      let stmt = epochStatements.get(conn);
      if (!stmt) epochStatements.set(conn, (stmt = conn.prepare(`SELECT epoch FROM ${CACHE_EPOCH_TABLE} WHERE id = 1`)));
      const row = stmt.get();
      return row ? Number(row.epoch) : 0;
    });
  }
  const row = await db(CACHE_EPOCH_TABLE).where('id', 1).first('epoch');
  return row ? Number(row.epoch) : 0;
}

/**
 * Raise the epoch by one, or to `floor` when that is higher (atomically: concurrent raises each
 * count, the second of two with one floor lands one above it). Requires the migration's row:
 * without it nothing could be retired, so its absence is an error, never a silent no-op.
 * Call it holding the projections write lock (the projector does, on the lock's own connection:
 * Projector.refreshCaches), or a rebuild's swap may lose the raise (stageCacheEpoch).
 * @example await bumpCacheEpoch(trx) // a refresh failed
 * @example await bumpCacheEpoch(trx, clockEpochFloor()) // a projector starts
 */
export async function bumpCacheEpoch(db: Knex, floor = 0): Promise<void> {
  const row = db(CACHE_EPOCH_TABLE).where('id', 1);
  const changed = Number(
    floor > 0 ? await row.update({ epoch: db.raw('CASE WHEN epoch + 1 >= ? THEN epoch + 1 ELSE ? END', [floor, floor]) }) : await row.increment('epoch', 1),
  );
  if (changed !== 1) throw noEpochRow();
}

/**
 * The floor of a raise when a projector starts: the clock, in microseconds since 1970 (about
 * 1.8e15 now, a safe integer until the year 2255). A restore of the database from a backup takes
 * the epoch back to the value it had then, while Redis may keep views cached under that value and
 * the ones after it, in the timeline the restore undid; a raise by one would land on one of them.
 * The epoch only grows by one per raise, or jumps to this floor, so a raise to the clock lands
 * above every value held before, as long as fewer raises came than microseconds passed since the
 * last such jump (a raise is a SQL commit: a few thousand a second at most) and the starting
 * host's clock is not behind the one that made that jump by more than the time since.
 */
export function clockEpochFloor(nowMs = Date.now()): number {
  return Math.floor(nowMs) * 1000;
}

/** The epoch table's definition, shared by its migration and by rebuilds (stageCacheEpoch). */
export function createCacheEpochTable(knex: Knex, name: string): Promise<void> {
  return createTable(knex, name, (t) => {
    t.integer('id').primary();
    t.bigInteger('epoch').notNullable();
  });
}

/**
 * Write into `fresh` (an empty table made by createCacheEpochTable) the live epoch plus one, for
 * a rebuild to swap `fresh` in with its tables in one atomic rename (swapTables): readers then
 * see the old tables under the old epochs or the new tables under the new one, never the new
 * tables under an epoch their views of the old ones were cached under. A separate raise after
 * the swap could fail once MySQL's RENAME TABLE had committed, leaving exactly that.
 *
 * Requires the projections write lock (withWriteLock), held from this read until the swap: a
 * raise between the two would land on the table being swapped out, and the new epoch could equal
 * the raised one, under which readers may have cached views of the old tables. Every raise holds
 * that lock (bumpCacheEpoch); the projector's runs on the very connection holding its lock, so it
 * cannot run after that lock is lost (the server drops a lock with its connection).
 * @example await stageCacheEpoch(trx, 'rm_cache_epoch__r1'); await swapTables(trx, [...])
 */
export async function stageCacheEpoch(trx: Knex.Transaction, fresh: string): Promise<number> {
  const live = trx(CACHE_EPOCH_TABLE).where('id', 1).first('epoch');
  // The newest committed value, not this transaction's snapshot (MySQL's REPEATABLE READ).
  const row = await (dialectOf(trx) === 'mysql' ? live.forUpdate() : live);
  if (!row) throw noEpochRow();
  const epoch = Number(row.epoch) + 1;
  await trx(fresh).insert({ id: 1, epoch }).onConflict('id').merge();
  return epoch;
}
