import type { Knex } from 'knex';
import { ROWS_PER_STATEMENT, statementChunks } from '../src/db/statement-chunks';

/** `items` in slices of `size` (ids for a WHERE … IN list; rows to insert go through statementChunks). */
export function chunks<T>(items: T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Insert or replace rows by primary key, in multi-row statements (one round trip per chunk). */
export async function upsertRows(db: Knex | Knex.Transaction, table: string, key: string | string[], rows: Record<string, unknown>[]): Promise<void> {
  for (const part of statementChunks(rows)) await db(table).insert(part).onConflict(key as string[]).merge();
}

/** Insert rows, leaving any row whose key is already there as it is (replays, duplicates). */
export async function insertNewRows(db: Knex | Knex.Transaction, table: string, key: string | string[], rows: Record<string, unknown>[]): Promise<void> {
  for (const part of statementChunks(rows)) await db(table).insert(part).onConflict(key as string[]).ignore();
}

export const jsonOrNull = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
export const parseJson = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (JSON.parse(String(v)) as T));
export const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
export const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
