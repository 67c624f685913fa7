import { isIP } from 'node:net';

/**
 * A MySQL/MariaDB DATABASE_URL as openKnex reads it: the one reading, for the start's check
 * (src/config.ts) and for the connection (src/db/knex.ts), so a URL the check takes is one the
 * connection reads the same way.
 */

/** TLS of the MySQL connection, as mysql2 takes it: the server's certificate verified, and its name unless told not. */
export type MysqlTls = { rejectUnauthorized: boolean; verifyIdentity: boolean };

export type MysqlUrl = { host: string; port: number; user: string; password: string; database: string; ssl?: MysqlTls };

/** What `ssl` takes, for the message of a value it refuses. */
export const MYSQL_SSL_EXPECTED =
  'ssl=true (TLS, the server certificate verified against the system CAs and NODE_EXTRA_CA_CERTS, and its host name: the URL names the host as the certificate does), ssl={"verifyIdentity":false} (certificate verified, not its name), ssl={"rejectUnauthorized":false} (encrypted, the server not verified) or ssl=false';

const ENCODE =
  'it does not parse as a URL: percent-encode characters other than letters, digits and -._~ in the user and password (/ as %2F, # as %23, ? as %3F, @ as %40, % as %25)';

/** `ssl`'s value as a TLS setting, or why it is refused. */
function sslOption(value: string): MysqlTls | undefined | { problem: string } {
  if (value === 'false') return undefined;
  if (value === 'true') return { rejectUnauthorized: true, verifyIdentity: true };
  let o: unknown;
  try {
    o = JSON.parse(value);
  } catch {
    o = undefined;
  }
  const keys = o && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o) : undefined;
  if (!keys || !keys.every(([k, v]) => (k === 'rejectUnauthorized' || k === 'verifyIdentity') && typeof v === 'boolean')) {
    return { problem: `ssl takes ${MYSQL_SSL_EXPECTED}` };
  }
  const t = o as Partial<MysqlTls>;
  const rejectUnauthorized = t.rejectUnauthorized !== false;
  // A name is checked only on a certificate that is verified.
  return { rejectUnauthorized, verifyIdentity: rejectUnauthorized && t.verifyIdentity !== false };
}

/**
 * `mysql://` or `mariadb://` `user:password@host:port/database`, with the one option read after
 * `?`, `ssl` (TLS; no other is read, so another is refused rather than ignored); or why it cannot
 * be read, in words that never repeat the URL (it may hold a password).
 * @example readMysqlUrl('mysql://app:pw@db:3306/openmcp?ssl=true').ssl // { rejectUnauthorized: true, verifyIdentity: true }
 */
export function readMysqlUrl(url: string): MysqlUrl | { problem: string } {
  let u: URL;
  try {
    u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  } catch {
    return { problem: ENCODE };
  }
  // `user:12/ab@host` and `user:12?ab@host` parse, as host `user`, port 12 and a path or query holding the rest.
  if (/@/.test(u.pathname + u.search) || url.includes('#')) return { problem: ENCODE };
  let decoded: { user: string; password: string; database: string };
  try {
    decoded = { user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), database: decodeURIComponent(u.pathname.replace(/^\//, '')) };
  } catch {
    return { problem: ENCODE };
  }
  if (!decoded.database) return { problem: 'it names no database (…:3306/<database>)' };
  let ssl: MysqlTls | undefined;
  const names = [...u.searchParams.keys()];
  for (const name of new Set(names)) {
    if (name !== 'ssl') return { problem: `it takes one option after ?, ssl (${name} is not read: remove it)` };
    if (names.length > 1) return { problem: 'ssl is given more than once' };
    const o = sslOption(u.searchParams.get('ssl')!);
    if (o && 'problem' in o) return o;
    ssl = o;
  }
  // mysql2 checks the certificate's name against the host only when that is a name (an IP address: against `localhost`).
  // An IPv6 address without its brackets, as the driver connects to it.
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (ssl?.verifyIdentity && isIP(host)) {
    return { problem: 'ssl checks the server certificate\'s host name, which the driver cannot do for an IP address: name the host as its certificate does, or write ssl={"verifyIdentity":false} (the certificate verified, not its name)' };
  }
  return { host, port: Number(u.port || 3306), ...decoded, ...(ssl ? { ssl } : {}) };
}
