import type { Knex } from 'knex';
import { dialectOf } from '../../src/db/knex';

/** One line of a plan: SQLite's EXPLAIN QUERY PLAN detail, or MariaDB's ANALYZE row (r_rows = rows actually read). */
export type PlanLine = { detail: string; type?: string; key?: string; rRows?: number };

/**
 * The plan of the first query `run` sends (a list's own query; views are loaded after it), as
 * the database executes it with the same bindings. MariaDB runs it again under ANALYZE.
 * @example const [line] = await planOfFirstQuery(knex, () => rm.listTasks('acme', { limit: 50, cursor }), 'rm_tasks')
 */
export async function planOfFirstQuery(knex: Knex, run: () => Promise<unknown>, on?: string): Promise<PlanLine[]> {
  let first: { sql: string; bindings: Knex.RawBinding[] } | undefined;
  // A lookup of the table's own indexes (a list naming one to MariaDB) is not the list's query,
  // nor, with `on`, one on another table (a projector sharing the knex polls the log meanwhile).
  const listener = (q: { sql: string; bindings?: Knex.RawBinding[] }) => {
    if (/information_schema|pragma_index_list/.test(q.sql)) return;
    if (on !== undefined && !q.sql.includes(`\`${on}\``) && !q.sql.includes(`"${on}"`)) return;
    first ??= { sql: q.sql, bindings: q.bindings ?? [] };
  };
  knex.on('query', listener);
  try {
    await run();
  } finally {
    knex.removeListener('query', listener);
  }
  if (!first) throw new Error('no query was sent');
  if (dialectOf(knex) === 'mysql') {
    const [rows] = (await knex.raw(`ANALYZE ${first.sql}`, first.bindings)) as [Record<string, unknown>[]];
    return rows.map((r) => ({ type: String(r.type), key: String(r.key), rRows: Number(r.r_rows), detail: `${r.type} key=${r.key} rows=${r.rows} r_rows=${r.r_rows} ${r.Extra ?? ''}`.trim() }));
  }
  const rows = (await knex.raw(`EXPLAIN QUERY PLAN ${first.sql}`, first.bindings)) as { detail: string }[];
  return rows.map((r) => ({ detail: r.detail }));
}
