import type { Knex } from 'knex';
import { chunks } from '../../projections/sql-rows';

/**
 * The characters of recorded payloads (arguments and result, in clear or sealed) of each of the
 * tenant's calls `ids`, read without the payloads themselves, so that a page can stop within
 * MAX_PAGE_CHARS before its rows are read. Calls not found are absent.
 * @example (await toolCallSizes(db, 'rm_tool_calls', 'acme', ['0193…'])).get('0193…') // 5120
 */
export async function toolCallSizes(db: Knex, table: string, tenant: string, ids: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const size = ['arguments_json', 'result_json', 'arguments_sealed', 'result_sealed'].map((col) => `COALESCE(LENGTH(${col}), 0)`).join(' + ');
  for (const part of chunks([...new Set(ids)], 500)) {
    for (const r of await db(table).where('tenant', tenant).whereIn('id', part).select('id', db.raw(`${size} AS size`))) sizes.set(String(r.id), Number(r.size));
  }
  return sizes;
}
