import type { Database } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConfigError, UnavailableError, redactUrl, redactUrlsIn } from '../core/errors';
import { isConnectionFailure } from './connection-failure';
import { readMysqlUrl } from './mysql-url';

export type Dialect = 'sqlite' | 'mysql';

export function dialectOf(knex: Knex): Dialect {
  const c = knex.client.config.client as string;
  return c === 'better-sqlite3' || c === 'sqlite3' ? 'sqlite' : 'mysql';
}

/**
 * MySQL tables compare text exactly, as SQLite and the code do: tenants, stream names, tool names
 * and ids that differ only in case, or in trailing spaces, are different ('Acme' is not 'acme',
 * 'search ' is not 'search'). A table created without a collation takes `utf8mb4`'s default,
 * case-insensitive one. Binary and without padding: MariaDB's `utf8mb4_nopad_bin`, MySQL 8's
 * `utf8mb4_0900_bin`; `utf8mb4_bin` (which ignores trailing spaces) only where neither exists.
 */
/**
 * Run `fn` on the SQLite pool's one better-sqlite3 connection, held meanwhile (a knex transaction
 * on it is waited for, never joined): for hot statements prepared once per connection, which
 * knex's better-sqlite3 dialect prepares again on every query.
 */
export async function withSqliteConnection<T>(knex: Knex, fn: (db: Database) => T): Promise<T> {
  const client = knex.client as { acquireConnection(): Promise<Database>; releaseConnection(c: Database): Promise<unknown> };
  const db = await client.acquireConnection();
  try {
    return fn(db);
  } finally {
    await client.releaseConnection(db);
  }
}

export const MYSQL_CHARSET = 'utf8mb4';
const EXACT_COLLATIONS = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'utf8mb4_bin'];
const collations = new WeakMap<Knex, Promise<string>>();

/** The collation this server's tables get (see MYSQL_CHARSET): the first of EXACT_COLLATIONS it has. */
export function mysqlCollation(knex: Knex): Promise<string> {
  let c = collations.get(knex);
  if (!c) {
    c = knex('information_schema.COLLATIONS')
      .whereIn('COLLATION_NAME', EXACT_COLLATIONS)
      .pluck('COLLATION_NAME')
      .then((have: string[]) => EXACT_COLLATIONS.find((x) => have.includes(x)) ?? 'utf8mb4_bin');
    c.catch(() => collations.delete(knex));
    collations.set(knex, c);
  }
  return c;
}

/** `knex.schema.createTable` with this project's table options: every table is created through it. */
export async function createTable(knex: Knex, name: string, columns: (t: Knex.CreateTableBuilder) => void): Promise<void> {
  const collation = dialectOf(knex) === 'mysql' ? await mysqlCollation(knex) : undefined;
  await knex.schema.createTable(name, (t) => {
    if (collation) {
      t.charset(MYSQL_CHARSET);
      t.collate(collation);
    }
    columns(t);
  });
}

/**
 * knex's own warnings (`Connection Error: …` for each pooled connection a database outage cut),
 * to `warn`: stderr by default, where `mcp stdio` does not speak its protocol; `openmcp start`
 * gives its JSON logger. Concurrent start-ups race for the migration lock and retry
 * (migrateLatest): not worth a warning. "Acquire connection error" neither: knex throws that error
 * to the caller too, which reports it (a request's log line, the CLI's one line); the warning
 * repeated it with a stack.
 */
function knexLog(warn: (message: string) => void = (message) => console.warn(message)): { warn(message: string): void } {
  return {
    warn(message: string) {
      if (!/Can't take lock|migrate:unlock|^Acquire connection error/.test(String(message))) warn(String(message));
    },
  };
}

export type SqliteSynchronous = 'full' | 'normal';

export type OpenKnexOptions = {
  poolMax?: number;
  createDatabase?: boolean;
  /**
   * SQLite only (SQLITE_SYNCHRONOUS). `full` (default): a commit is on disk when acknowledged, so
   * it survives a power loss or OS crash. `normal`: with WAL, commits are not fsynced, only
   * checkpoints are; an acknowledged commit survives a crash or kill -9 of the process but not a
   * power loss or OS crash. `normal` takes the fsync (0.3 ms quiet, several ms under disk
   * contention here) off every append.
   */
  sqliteSynchronous?: SqliteSynchronous;
  /** Where knex's warnings go (default stderr); `openmcp start` writes them to its JSON log (`component: knex`). */
  warn?: (message: string) => void;
  /** With `createDatabase`: told the database's name when it did not exist and this call created it. */
  onCreated?: (database: string) => void;
};

/**
 * A server that cannot be reached or refuses the login, said as the start's other stores say it:
 * which setting and where (credentials redacted), then the driver's reason with its code. The
 * driver's own message named neither (`ECONNREFUSED 127.0.0.1:3306`, "Access denied for user …").
 * Any other error (a bug, a statement) is passed on as it is.
 */
function cannotConnect(url: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  // An outage (isConnectionFailure), or what a start meets and a moment does not mend: a name that
  // does not resolve, a refused login or database, a failed handshake.
  const refused = typeof code === 'string' && /^(ENOTFOUND|ER_(ACCESS_DENIED|DBACCESS_DENIED|BAD_DB|HOST_NOT_PRIVILEGED|HOST_IS_BLOCKED)\w*|HANDSHAKE_\w+)$/.test(code);
  if (!(err instanceof Error) || typeof code !== 'string' || !(refused || isConnectionFailure(err))) return err;
  const reason = err.message.includes(code) ? err.message : `${code}: ${err.message}`;
  return new UnavailableError('mysql', `cannot connect to ${redactUrl(url)} (DATABASE_URL): ${redactUrlsIn(reason)}`, err);
}

/**
 * Open a knex instance for `sqlite:<path>` (better-sqlite3, WAL, FULL sync unless told otherwise) or
 * `mysql://user:pass@host:port/db[?ssl=true]` (mysql2, readMysqlUrl). With `createDatabase`, a missing MySQL database
 * is created first (and `onCreated` told).
 */
export async function openKnex(url: string, opts: OpenKnexOptions = {}): Promise<Knex> {
  const log = knexLog(opts.warn);
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new ConfigError('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/openmcp.db', { variable: 'DATABASE_URL' });
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      log,
      compileSqlOnError: false,
      connection: { filename: file },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          // WAL lets readers run beside the writer; FULL sync makes an acknowledged append durable.
          conn.pragma('journal_mode = WAL');
          conn.pragma(`synchronous = ${opts.sqliteSynchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
          // Short: the driver waits synchronously, blocking the event loop; callers that write
          // from several connections retry SQLITE_BUSY asynchronously (see SqlEventStore).
          conn.pragma('busy_timeout = 25');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const read = readMysqlUrl(url);
    if ('problem' in read) throw new ConfigError(`DATABASE_URL: ${redactUrl(url)}: ${read.problem}`, { variable: 'DATABASE_URL' });
    const { database, ssl, ...at } = read;
    const connection = {
      ...at,
      // mysql2 takes `ssl` as it is: TLS before the login, the server verified as readMysqlUrl says.
      ...(ssl ? { ssl: { ...ssl } } : {}),
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: false,
      dateStrings: true,
      timezone: 'Z',
    };
    if (opts.createDatabase) {
      const admin = knexFactory({ client: 'mysql2', log, compileSqlOnError: false, connection, pool: { min: 0, max: 1 } });
      try {
        await admin.raw('SELECT 1').catch((err) => Promise.reject(cannotConnect(url, err)));
        const [seen] = (await admin.raw('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database])) as [unknown[]];
        const [created] = (await admin.raw('CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET ?? COLLATE ??', [database, MYSQL_CHARSET, await mysqlCollation(admin)])) as [{ affectedRows: number; warningStatus: number }];
        // Made here: it was not there before, and CREATE gave no note 1007 ("database exists": another
        // process starting at once made it first). Not affectedRows alone: MySQL 8 answers 1 row for a
        // database that exists (MariaDB 0).
        if (seen.length === 0 && created.affectedRows > 0 && !created.warningStatus) opts.onCreated?.(database);
      } finally {
        await admin.destroy();
      }
    }
    const db = knexFactory({
      client: 'mysql2',
      log,
      // knex otherwise writes every bound value into a failed query's message (an event body, an
      // API key's hash), and messages reach logs: the statement with its `?` placeholders is enough.
      compileSqlOnError: false,
      connection: { ...connection, database },
      pool: {
        min: 0,
        max: opts.poolMax ?? 10,
        // UTC sessions: NOW() and UNIX_TIMESTAMP() (the lease clock) are then exact. In the server's
        // own zone, a daylight-saving change makes them jump by an hour: live leases would look
        // expired, and leases taken in the repeated hour would outlive a dead leader by an hour.
        afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query("SET time_zone = '+00:00'", (err) => done(err, conn));
        },
      },
    });
    try {
      await db.raw('SELECT 1');
    } catch (err) {
      await db.destroy();
      throw cannotConnect(url, err);
    }
    return db;
  }
  throw new ConfigError(`DATABASE_URL: unsupported URL ${redactUrl(url)} (sqlite:<path> or mysql://…)`, { variable: 'DATABASE_URL' });
}
