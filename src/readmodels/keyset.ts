import type { Knex } from 'knex';

/**
 * Keep the rows after a keyset cursor `(at, id)` in a list sorted by `column` descending, then
 * `id` descending: `column <= at AND (column < at OR id < id)`, the same rows as the textbook
 * `column < at OR (column = at AND id < id)`. SQLite and MariaDB read that OR as a scan from the
 * top of the list's index (deep pages get slower page by page); the bound on `column` alone is a
 * range they seek to, and the tie-break only sifts the rows at `at`. bench/list-pages.bench.ts
 * shows the plans.
 * @example whereBeforeKey(db('rm_tasks').where('tenant', t), 'created_at', c.createdAt, c.id)
 */
export function whereBeforeKey(q: Knex.QueryBuilder, column: string, at: string, id: string): Knex.QueryBuilder {
  return q.where(column, '<=', at).where((w) => w.where(column, '<', at).orWhere('id', '<', id));
}
