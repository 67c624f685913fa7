import type { Knex } from 'knex';
import { chunks } from '../../projections/sql-rows';
import type { ReadModelTables } from '../../projections/tables';

/** What a view adds to its rows' payloads (ids, times, statuses, hashes), per row: an over-estimate. */
const ROW_CHARS = 1024;

const lengths = (db: Knex, cols: string[]) => db.raw(`SUM(${cols.map((c) => `COALESCE(LENGTH(${c}), 0)`).join(' + ')} + ${ROW_CHARS}) AS size`);

/**
 * About how many characters the view of each of the tenant's tasks `ids` takes (as loadTaskViews
 * builds it: its row, its steps, its step runs and its calls' payloads, which its steps show),
 * read without the payloads themselves, so that a page can stop within MAX_PAGE_CHARS before any
 * view is built: a task of 100 steps with large results is a view of hundreds of MiB. An estimate
 * from above. Tasks not found, or of another tenant, are absent.
 * @example (await taskViewSizes(db, LIVE_TABLES, 'acme', ['0193…'])).get('0193…') // 8192
 */
export async function taskViewSizes(db: Knex, t: ReadModelTables, tenant: string, ids: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const part of chunks([...new Set(ids)], 500)) {
    const [tasks, ...parts] = await Promise.all([
      db(t.tasks).where('tenant', tenant).whereIn('id', part).groupBy('id').select('id', lengths(db, ['instruction', 'instruction_sealed', 'output_json', 'sealed_answer_json', 'error_json', 'approvals_json'])),
      db(t.taskSteps).whereIn('task_id', part).groupBy('task_id').select('task_id', lengths(db, ['arguments_json', 'arguments_sealed'])),
      db(t.taskStepRuns).whereIn('task_id', part).groupBy('task_id').select('task_id', lengths(db, ['arguments_json', 'result_json', 'error_json'])),
      db(t.toolCalls).whereIn('task_id', part).groupBy('task_id').select('task_id', lengths(db, ['arguments_json', 'result_json', 'error_json'])),
    ]);
    for (const r of tasks) sizes.set(String(r.id), Number(r.size));
    for (const rows of parts) for (const r of rows) if (sizes.has(String(r.task_id))) sizes.set(String(r.task_id), sizes.get(String(r.task_id))! + Number(r.size));
  }
  return sizes;
}
