import type { Knex } from 'knex';
import { dialectOf } from '../db/knex';

const LOCK_WAIT_S = 60;

function lockName(knex: Knex): string {
  const db = (knex.client.config.connection as { database?: string } | undefined)?.database ?? '';
  return `openmcp:projections:${db}`.slice(0, 64);
}

/**
 * Run `fn` in a transaction that holds the projections' write lock. Projector batches and the
 * final step of a rebuild (catch-up + table swap) take it, so a swap never happens between a
 * batch's writes and its commit into the table being swapped out.
 * MySQL: a named lock (GET_LOCK), because RENAME TABLE commits implicitly and cannot sit inside
 * the transaction it must exclude. SQLite: the database's single writer lock is the lock; the
 * first statement of `fn` must write so the transaction takes it before reading.
 */
export async function withWriteLock<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (dialectOf(knex) === 'sqlite') return knex.transaction(fn);
  const name = lockName(knex);
  return knex.transaction(async (trx) => {
    const [rows] = await trx.raw('SELECT GET_LOCK(?, ?) AS ok', [name, LOCK_WAIT_S]);
    if (Number(rows[0]?.ok) !== 1) throw new Error(`projections write lock ${name} not granted within ${LOCK_WAIT_S}s`);
    try {
      return await fn(trx);
    } finally {
      // Released before COMMIT: safe, because whoever takes the lock next only renames tables,
      // which waits for this transaction's metadata locks, i.e. for the commit.
      await trx.raw('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
    }
  });
}
