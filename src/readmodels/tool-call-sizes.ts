import type { Knex } from 'knex';
import { chunks } from '../../projections/sql-rows';

const SIZE = ['arguments_json', 'result_json', 'arguments_sealed', 'result_sealed'].map((col) => `COALESCE(LENGTH(${col}), 0)`).join(' + ');

/**
 * The characters of recorded payloads (arguments and result, in clear or sealed) of each of the
 * tenant's calls `ids`, read without the payloads themselves, so that a page can stop within
 * MAX_PAGE_CHARS before its rows are read. Calls not found are absent.
 * @example (await toolCallSizes(db, 'rm_tool_calls', 'acme', ['0193…'])).get('0193…') // 5120
 */
export async function toolCallSizes(db: Knex, table: string, tenant: string, ids: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const part of chunks([...new Set(ids)], 500)) {
    for (const r of await db(table).where('tenant', tenant).whereIn('id', part).select('id', db.raw(`${SIZE} AS size`))) sizes.set(String(r.id), Number(r.size));
  }
  return sizes;
}

/**
 * As toolCallSizes, for every call of the tenant's tasks `taskIds` (those a task's steps may show):
 * by task, each call's id and size.
 * @example (await taskToolCallSizes(db, 'rm_tool_calls', 'acme', ['0193…'])).get('0193…') // Map { '0194…' => 5120 }
 */
export async function taskToolCallSizes(db: Knex, table: string, tenant: string, taskIds: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const byTask = new Map<string, Map<string, number>>();
  for (const part of chunks([...new Set(taskIds)], 500)) {
    for (const r of await db(table).where('tenant', tenant).whereIn('task_id', part).select('id', 'task_id', db.raw(`${SIZE} AS size`))) {
      const calls = byTask.get(String(r.task_id)) ?? new Map<string, number>();
      calls.set(String(r.id), Number(r.size));
      byTask.set(String(r.task_id), calls);
    }
  }
  return byTask;
}
