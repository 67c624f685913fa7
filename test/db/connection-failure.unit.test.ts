import { expect } from 'chai';
import { isConnectionFailure } from '../../src/db/connection-failure';

/** An error shaped as the driver gives it (mysql2, better-sqlite3, knex): a message, a `code`, mysql2's `fatal`. */
function driverError(message: string, props: Record<string, unknown> = {}, name?: string): Error {
  const e = Object.assign(new Error(message), props);
  if (name) e.name = name;
  return e;
}

describe('isConnectionFailure: the database unreachable a moment, told apart from a bug or a refusal', () => {
  const transient: [string, Error][] = [
    ['MariaDB down (connect refused)', driverError('connect ECONNREFUSED 127.0.0.1:3306', { code: 'ECONNREFUSED', errno: -111, fatal: true })],
    ['the connection cut mid-query', driverError('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })],
    ['a reset socket', driverError('read ECONNRESET', { code: 'ECONNRESET', fatal: true })],
    ['a hung server (connect timeout)', driverError('connect ETIMEDOUT', { code: 'ETIMEDOUT', fatal: true })],
    ['MariaDB shutting down', driverError('Server shutdown in progress', { code: 'ER_SERVER_SHUTDOWN', errno: 1053 })],
    ['its connection killed (a restart)', driverError('Connection was killed', { code: 'ER_CONNECTION_KILLED', errno: 1927 })],
    ['too many connections', driverError('Too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040, fatal: true })],
    ['a deadlock the server says to retry', driverError('Deadlock found when trying to get lock; try restarting transaction', { code: 'ER_LOCK_DEADLOCK', errno: 1213 })],
    ['a lock wait timeout', driverError('Lock wait timeout exceeded; try restarting transaction', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })],
    ['a pooled connection already closed (mysql2, no code)', driverError("Can't add new command when connection is in closed state", { fatal: true })],
    ['no pooled connection in time (knex)', driverError('Knex: Timeout acquiring a connection. The pool is probably full.', {}, 'KnexTimeoutError')],
    ['SQLite busy', driverError('database is locked', { code: 'SQLITE_BUSY' })],
    ['SQLite busy (extended code)', driverError('database is locked', { code: 'SQLITE_BUSY_SNAPSHOT' })],
    ['SQLite table locked', driverError('database table is locked', { code: 'SQLITE_LOCKED' })],
  ];
  for (const [what, err] of transient) it(`transient: ${what}`, () => expect(isConnectionFailure(err)).to.equal(true));

  const lasting: [string, unknown][] = [
    ['a bug (TypeError)', new TypeError("Cannot read properties of undefined (reading 'revision')")],
    ['bad SQL', driverError('You have an error in your SQL syntax', { code: 'ER_PARSE_ERROR', errno: 1064 })],
    ['a missing table', driverError("Table 'x.events' doesn't exist", { code: 'ER_NO_SUCH_TABLE', errno: 1146 })],
    ['a duplicate key', driverError('Duplicate entry', { code: 'ER_DUP_ENTRY', errno: 1062 })],
    ['wrong credentials (fatal, but no outage)', driverError("Access denied for user 'x'@'localhost'", { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })],
    ['a failed handshake (fatal, but no outage)', driverError('Server does not support secure connection', { code: 'HANDSHAKE_NO_SSL_SUPPORT', fatal: true })],
    ['SQLite constraint', driverError('UNIQUE constraint failed: events.id', { code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['SQLite disk full', driverError('database or disk is full', { code: 'SQLITE_FULL' })],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ];
  for (const [what, err] of lasting) it(`not transient: ${what}`, () => expect(isConnectionFailure(err)).to.equal(false));
});
