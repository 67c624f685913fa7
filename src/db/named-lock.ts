import type { Knex } from 'knex';
import { dialectOf } from './knex';

/**
 * The name of a MySQL/MariaDB named lock for `purpose` in `knex`'s database: named locks are the
 * server's, so two deployments sharing a server (or test databases) do not exclude each other.
 * @example databaseLockName(knex, 'migrate') // 'openmcp:migrate:openmcp'
 */
export function databaseLockName(knex: Knex, purpose: string): string {
  const db = (knex.client.config.connection as { database?: string } | undefined)?.database ?? '';
  return `openmcp:${purpose}:${db}`.slice(0, 64);
}

type Connection = object;
type PoolClient = { acquireConnection(): Promise<Connection>; releaseConnection(c: Connection): Promise<unknown> };

export type IfLockFreeReturnType<T> = { ran: true; value: T } | { ran: false };

/**
 * Run `fn` unless another session holds the named lock for `purpose` (databaseLockName), without
 * waiting for it: `{ ran: false }` then. The lock is held on a connection taken out of the pool
 * for as long as `fn` runs (`fn`'s own statements use the pool's others), and dies with that
 * session, so a process that dies while holding it leaves nothing held. Only for work that is
 * safe to run twice at once (a lost session lets a second run start beside it): the lock saves
 * the repeat, it does not guard correctness. SQLite (a single process): `fn()`.
 * @example const r = await ifLockFree(knex, 'subject-index-repair', () => repairSubjectIndex(knex)); if (!r.ran) … // another process fills
 */
export async function ifLockFree<T>(knex: Knex, purpose: string, fn: () => Promise<T>): Promise<IfLockFreeReturnType<T>> {
  if (dialectOf(knex) !== 'mysql') return { ran: true, value: await fn() };
  const pool = knex.client as PoolClient;
  const name = databaseLockName(knex, purpose);
  const conn = await pool.acquireConnection();
  try {
    const [rows] = await knex.raw('SELECT GET_LOCK(?, 0) AS ok', [name]).connection(conn);
    if (Number(rows[0]?.ok) !== 1) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await knex.raw('SELECT RELEASE_LOCK(?)', [name]).connection(conn).catch(() => undefined);
    }
  } finally {
    await pool.releaseConnection(conn);
  }
}
