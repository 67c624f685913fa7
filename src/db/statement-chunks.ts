import { splitByBytes } from '../core/split-by-bytes';

/** Rows per multi-row INSERT: well under SQLite's bound-variable limit for our widest table. */
export const ROWS_PER_STATEMENT = 200;

/**
 * Bytes of values per multi-row INSERT. MySQL sends a statement as one packet and drops the
 * connection when it is over `max_allowed_packet` (MariaDB's default 16 MiB, MySQL 8's 64 MiB):
 * 200 audit rows of large tool results are far more. Escaping can double a value's bytes, so 4 MiB
 * of values stays under the smaller default. SQLite binds values and has no such limit.
 */
export const BYTES_PER_STATEMENT = 4 * 1024 * 1024;

function rowBytes(row: Record<string, unknown>): number {
  let n = 0;
  for (const v of Object.values(row)) n += typeof v === 'string' ? Buffer.byteLength(v) : 24;
  return n;
}

/**
 * `rows` in order, split into multi-row statements of at most ROWS_PER_STATEMENT rows and
 * BYTES_PER_STATEMENT bytes of values (a single larger row goes alone).
 */
export function statementChunks<T extends Record<string, unknown>>(rows: T[]): T[][] {
  return splitByBytes(rows, rowBytes, BYTES_PER_STATEMENT, ROWS_PER_STATEMENT);
}
