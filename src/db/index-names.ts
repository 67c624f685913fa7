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
