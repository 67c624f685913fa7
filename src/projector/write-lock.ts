import type { Knex } from 'knex';
import { dialectOf } from '../db/knex';
import { databaseLockName } from '../db/named-lock';

const LOCK_WAIT_S = 60;

const lockName = (knex: Knex): string => databaseLockName(knex, 'projections');

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

type Connection = object;

/**
 * Runs `fn` in a transaction of its own on the connection that holds the projections write lock
 * (MySQL), so the statements run under that lock or not at all: the lock is let go only between
 * transactions (HeldWriteLock) or with its connection, never while one of its statements runs.
 */
export type UnderWriteLock = <R>(fn: (trx: Knex.Transaction) => Promise<R>) => Promise<R>;
type PoolClient = { acquireConnection(): Promise<Connection>; releaseConnection(c: Connection): Promise<unknown> };

/**
 * The projector's side of the write lock, kept across batches: GET_LOCK and RELEASE_LOCK were two
 * of the dozen round trips of every small live batch. The lock lives on a connection taken out of
 * the pool for as long as it is held, and is let go after `holdMs` of holding or of idleness, so
 * a rebuild waiting for it (GET_LOCK queues it) gets it within about that time, as before within
 * one batch. It is only ever released between transactions, after a commit or a rollback.
 * SQLite: no named lock, the database's writer lock does the work (see withWriteLock).
 */
export class HeldWriteLock {
  private conn?: Connection;
  private heldSince = 0;
  private idle?: NodeJS.Timeout;
  /** Transactions share the one connection, so they run one after another. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly knex: Knex,
    private readonly holdMs = 250,
  ) {}

  /**
   * Run `fn` in a transaction under the lock, then `afterCommit` still under it: what the
   * projector does after a commit (rewrite the caches from the committed rows) then happens in
   * commit order across processes, so a slower process cannot write an older view over a newer.
   * Statements `afterCommit` runs on other connections only run while the lock is held as long
   * as its connection lives; those that must never run without it go through `underLock`.
   */
  run<T>(fn: (trx: Knex.Transaction) => Promise<T>, afterCommit?: (underLock: UnderWriteLock) => Promise<void>): Promise<T> {
    if (dialectOf(this.knex) === 'sqlite') {
      // The database's writer lock is the lock: a transaction takes it at its first write.
      const underLock: UnderWriteLock = (g) => this.knex.transaction(g);
      return this.knex.transaction(fn).then(async (r) => (await afterCommit?.(underLock), r));
    }
    return this.serial(() => this.runNow(fn, afterCommit));
  }

  /** Give the lock and its connection back (also when the projector stops). */
  release(): Promise<void> {
    return this.serial(() => this.drop());
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(fn: (trx: Knex.Transaction) => Promise<T>, afterCommit?: (underLock: UnderWriteLock) => Promise<void>): Promise<T> {
    clearTimeout(this.idle);
    const connection = await this.take();
    try {
      const result = await this.knex.transaction(fn, { connection } as Knex.TransactionConfig);
      await afterCommit?.((g) => this.knex.transaction(g, { connection } as Knex.TransactionConfig));
      return result;
    } catch (err) {
      // The connection may be broken (then the server dropped the lock with it): start afresh.
      await this.drop();
      throw err;
    } finally {
      if (this.conn && performance.now() - this.heldSince >= this.holdMs) await this.drop();
      if (this.conn) this.idle = setTimeout(() => void this.release(), this.holdMs).unref();
    }
  }

  private async drop(): Promise<void> {
    clearTimeout(this.idle);
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    try {
      await this.knex.raw('SELECT RELEASE_LOCK(?)', [lockName(this.knex)]).connection(conn).catch(() => undefined);
    } finally {
      await (this.knex.client as PoolClient).releaseConnection(conn);
    }
  }

  private async take(): Promise<Connection> {
    if (this.conn) return this.conn;
    const pool = this.knex.client as PoolClient;
    const conn = await pool.acquireConnection();
    try {
      const name = lockName(this.knex);
      const [rows] = await this.knex.raw('SELECT GET_LOCK(?, ?) AS ok', [name, LOCK_WAIT_S]).connection(conn);
      if (Number(rows[0]?.ok) !== 1) throw new Error(`projections write lock ${name} not granted within ${LOCK_WAIT_S}s`);
    } catch (err) {
      await pool.releaseConnection(conn);
      throw err;
    }
    this.conn = conn;
    this.heldSince = performance.now();
    return conn;
  }
}
