import type { Knex } from 'knex';
import { dialectOf } from './knex';

/**
 * A table's indexes, by their column list (`a,b,c`), to their names, whatever those are: a
 * rebuilt read-model table keeps the `__r<n>` names it was created with.
 * @example (await indexesByColumns(knex, 'rm_audit_events')).get('tenant,position') // 'rm_audit_events_tenant_position_index'
 */
export async function indexesByColumns(knex: Knex, table: string): Promise<Map<string, string>> {
  const rows: { name: string; col: string }[] =
    dialectOf(knex) === 'mysql'
      ? (await knex.raw('SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX', [table]))[0]
      : await knex.raw('SELECT il.name AS name, ii.name AS col FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii ORDER BY il.name, ii.seqno', [table]);
  const byIndex = new Map<string, string[]>();
  for (const r of rows) byIndex.set(r.name, [...(byIndex.get(r.name) ?? []), r.col]);
  return new Map([...byIndex].map(([name, cols]) => [cols.join(','), name]));
}

/** MySQL/MariaDB's "Key '…' doesn't exist in table" (ER_KEY_DOES_NOT_EXITS): an index hint named an index the table lacks. */
export function isMissingIndex(err: unknown): boolean {
  return (err as { errno?: unknown } | null)?.errno === 1176;
}

/**
 * Lists that tell MySQL/MariaDB which index to read (FORCE INDEX). For a tenant holding much of a
 * table, InnoDB estimates a range of its index from a cursor on as half the table, and MariaDB
 * then prefers a lookup on the tenant alone, which reads the tenant's rows from its first on and
 * skips them up to the cursor: each page costs more than the one before. Told the index, it seeks.
 * The index is named as the table has it (looked up once by its columns: a rebuilt table keeps its
 * `__r<n>` names); a hint naming one that went away (a rebuild's swap) is run again without it
 * and looked up anew. SQLite, which seeks on its own, is never told.
 * @example const rows = await hints.run('rm_audit_events', ['tenant', 'position'], (from) => knex.from(from).where(...))
 */
export class IndexHints {
  private readonly names = new Map<string, Promise<Map<string, string>>>();

  constructor(private readonly knex: Knex) {}

  /** `query` on `table`, told to read its index on `columns` where there is one (none given: not told). */
  async run<T>(table: string, columns: readonly string[] | undefined, query: (from: string | Knex.Raw) => PromiseLike<T>): Promise<T> {
    const index = columns && dialectOf(this.knex) === 'mysql' ? await this.indexOf(table, columns) : undefined;
    if (index === undefined) return query(table);
    try {
      return await query(this.knex.raw('?? FORCE INDEX (??)', [table, index]));
    } catch (err) {
      if (!isMissingIndex(err)) throw err;
      this.names.delete(table);
      return query(table);
    }
  }

  private async indexOf(table: string, columns: readonly string[]): Promise<string | undefined> {
    let names = this.names.get(table);
    if (!names) {
      names = indexesByColumns(this.knex, table);
      this.names.set(table, names);
      names.catch(() => this.names.delete(table));
    }
    return (await names).get(columns.join(','));
  }
}
