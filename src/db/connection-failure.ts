import { NETWORK_ERROR_CODES, UnavailableError } from '../core/errors';

/**
 * Driver codes of a database that cannot be reached or is busy for a moment, beside the network's
 * (NETWORK_ERROR_CODES: MariaDB down, restarting, a cut link): the server turning connections away
 * or killing them, a lock race the server says to retry (ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT:
 * "try restarting transaction"); a busy SQLite database is matched by its prefix.
 */
const TRANSIENT_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/**
 * Whether `err` says the database is unreachable or busy for a moment, so the same statement may
 * well succeed later: a transient code above, a SQLite `SQLITE_BUSY…`/`SQLITE_LOCKED…`, a mysql2
 * connection that died without a server code (its `fatal` flag: "connection is in closed state"),
 * or knex finding no pooled connection in time (KnexTimeoutError). Never a bug, bad SQL, a
 * constraint, wrong credentials or a failed handshake: those fail the same way every time.
 * @example if (isConnectionFailure(err)) throw new UnavailableError('event store (mysql)', err.message, err)
 */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; fatal?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined) return TRANSIENT_CODES.has(code) || /^SQLITE_(BUSY|LOCKED)/.test(code);
  return e.fatal === true || e.name === 'KnexTimeoutError';
}

/**
 * `err` as a SQL adapter reports it: UnavailableError (DEPENDENCY_UNAVAILABLE, the driver's error
 * as its cause) when isConnectionFailure, saying `<what>: <op>: <driver code>`; anything else as it
 * is (a conflict, a refusal, a bug). The driver's code, not its message: knex puts the statement
 * first, and an outage's message reaches API clients (503), which are told what failed, not how.
 * @example await knex('t').first().catch((err) => { throw sqlOutage(err, 'spend ledger (mysql)', 'spent'); })
 */
export function sqlOutage(err: unknown, what: string, op: string): unknown {
  if (!isConnectionFailure(err)) return err;
  const e = err as Error & { code?: string };
  const why = e.code ?? (e.name === 'KnexTimeoutError' ? 'no database connection free within the pool timeout' : 'the connection closed');
  return new UnavailableError(what, `${op}: ${why}`, err);
}
