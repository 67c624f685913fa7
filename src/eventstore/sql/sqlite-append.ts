import type { Database, Statement, Transaction } from 'better-sqlite3';
import { planAppends, type AppendPlan, type AppendRequest } from './append-plan';
import { EVENT_COLUMNS, fromRow, type EventRow } from './rows';

type Prepared = {
  head: Statement<[], { next_position: number }>;
  lastRevision: Statement<[string], { rev: number | null }>;
  byId: Statement<[string], EventRow>;
  insert: Statement<unknown[]>;
  setHead: Statement<[number]>;
  batch: Transaction<(reqs: AppendRequest[]) => AppendPlan>;
};

// Statements belong to a connection; the pool may replace its connection, so key them by it.
const prepared = new WeakMap<Database, Prepared>();

function prepare(db: Database): Prepared {
  const p: Partial<Prepared> = {
    head: db.prepare('SELECT next_position FROM event_log_head WHERE id = 1'),
    lastRevision: db.prepare('SELECT MAX(revision) AS rev FROM events WHERE stream = ?'),
    byId: db.prepare('SELECT * FROM events WHERE id = ?'),
    insert: db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`),
    setHead: db.prepare('UPDATE event_log_head SET next_position = ? WHERE id = 1'),
  };
  const s = p as Prepared;
  s.batch = db.transaction((reqs: AppendRequest[]) => {
    const nextPosition = Number(s.head.get()!.next_position);
    const revisions = new Map<string, number>();
    for (const stream of new Set(reqs.map((r) => r.stream))) {
      const rev = s.lastRevision.get(stream)?.rev;
      if (rev !== null && rev !== undefined) revisions.set(stream, Number(rev));
    }
    const stored = new Map<string, ReturnType<typeof fromRow>>();
    for (const r of reqs) {
      for (const e of r.events) {
        const row = s.byId.get(e.id);
        if (row) stored.set(row.id, fromRow(row));
      }
    }
    const plan = planAppends(reqs, { nextPosition, revisions, stored });
    for (const row of plan.rows) s.insert.run(...EVENT_COLUMNS.map((c) => row[c as keyof EventRow]));
    if (plan.rows.length) s.setHead.run(plan.nextPosition);
    return plan;
  });
  prepared.set(db, s);
  return s;
}

/**
 * Plan and write a batch of appends on a better-sqlite3 connection in one IMMEDIATE transaction, synchronously:
 * the write lock is taken at BEGIN (a busy database fails at once with SQLITE_BUSY instead of
 * deadlocking on a lock upgrade), every statement is prepared once per connection, and nothing
 * else can run on the event loop between the head read and the commit. Precondition: nobody else
 * is using `db` (the caller holds it from the knex pool).
 */
export function appendOnSqlite(db: Database, reqs: AppendRequest[]): AppendPlan {
  return (prepared.get(db) ?? prepare(db)).batch.immediate(reqs);
}
