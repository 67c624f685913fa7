import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import type { PendingEvent, RecordedEvent } from '../../core/envelope';
import { OpenMcpError } from '../../core/errors';
import { dialectOf, withSqliteConnection, type Dialect } from '../../db/knex';
import { appendInputError, assertStreamPrefix, type AppendOptions, type AppendResult, type EventStore, type ReadAllOptions, type ReadStreamOptions, type SubscribeOptions, type Subscription } from '../port';
import { planAppends, type AppendPlan, type AppendRequest } from './append-plan';
import { retryOnContention } from '../../db/contention';
import { statementChunks } from '../../db/statement-chunks';
import { GroupCommit } from './group-commit';
import { fromRow, type EventRow } from './rows';
import { appendOnSqlite } from './sqlite-append';
import { toSqlStoreError } from './errors';
import { exclusiveStart } from '../read-all-start';

export { EventIdConflictError } from './append-plan';

export type SqlEventStoreOptions = {
  /** How often a live subscription looks for appends made by other processes. */
  pollIntervalMs?: number;
  /** Most appends combined into one transaction. */
  maxBatch?: number;
  /** Destroy the knex instance on close(). */
  ownsKnex?: boolean;
};

const DEFAULT_READ_LIMIT = 1000;
const SQLITE_BUSY_DEADLINE_MS = 30_000;
/** One table read of a subscription: `full` when there may be more; `scannedTo`, the last position it covered. */
type FeedPage = { events: RecordedEvent[]; full: boolean; scannedTo?: number };

/** The least string above every string that starts with `prefix` (its last character, plus one). */
function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Most appended events kept for one live subscriber that has not taken them yet. */
const LOCAL_HANDOFF_MAX = 10_000;

/**
 * The SQL event store (SQLite or MySQL/MariaDB through knex).
 *
 * Gap-free order: every append transaction first locks the single `event_log_head` row, takes
 * positions from its counter, inserts, advances the counter and commits. The lock is held until
 * commit, so transactions commit in position order and a reader that sees position p has already
 * been able to see every position below p; a rolled-back append rolls its positions back too.
 * Group commit: appends arriving while a transaction runs share the next one, so the lock and
 * the fsync are paid once per batch rather than once per append.
 * On SQLite the batch runs synchronously on the raw better-sqlite3 connection with statements
 * prepared once (see appendOnSqlite): going through the query builder cost several times the commit.
 */
export class SqlEventStore implements EventStore {
  readonly name: string;
  readonly gapFreePositions = true;
  private readonly dialect: Dialect;
  private readonly group: GroupCommit<AppendRequest, AppendResult>;
  private readonly appended = new EventEmitter();
  private closed = false;

  constructor(
    private readonly knex: Knex,
    private readonly options: SqlEventStoreOptions = {},
  ) {
    this.dialect = dialectOf(knex);
    this.name = `sql:${this.dialect}`;
    this.group = new GroupCommit((reqs) => this.flush(reqs), options.maxBatch ?? 256);
    this.appended.setMaxListeners(0);
  }

  append(stream: string, events: PendingEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new OpenMcpError('STORE_CLOSED', 'event store is closed', { status: 503 }));
    const invalid = appendInputError(stream, events);
    if (invalid) return Promise.reject(invalid);
    return this.group.submit({ stream, events, expected: options.expectedRevision ?? 'any' }).catch((err: unknown) => this.fail(err, 'append', stream));
  }

  /** Rethrow `err` as the store reports it: an outage as UnavailableError (toSqlStoreError), anything else as it is. */
  private fail(err: unknown, op: string, stream?: string): never {
    throw toSqlStoreError(err, this.dialect, { op, stream });
  }

  private async flush(reqs: AppendRequest[]): Promise<(AppendResult | Error)[]> {
    // Rows this flush inserted, in position order, handed to this process's live subscribers
    // once committed (a rolled-back attempt's rows are discarded with it).
    const committed: EventRow[] = [];
    let results: (AppendResult | Error)[];
    try {
      const inserted: EventRow[] = [];
      results = await this.runBatch(reqs, inserted);
      committed.push(...inserted);
    } catch (err) {
      if (reqs.length === 1) throw err;
      // One bad request must not fail the others that happened to share its transaction.
      results = [];
      for (const r of reqs) {
        const inserted: EventRow[] = [];
        results.push(
          await this.runBatch([r], inserted).then(
            (x) => (committed.push(...inserted), x[0]),
            (e: Error) => e,
          ),
        );
      }
    }
    // Subscribers parse only the rows they yield (a bare writer, or a follower of a few streams, parses none).
    if (committed.length) this.appended.emit('appended', committed);
    return results;
  }

  /** One transaction for `reqs`; `inserted` ends up holding the rows it committed (emptied before each attempt). */
  private runBatch(reqs: AppendRequest[], inserted: EventRow[]): Promise<(AppendResult | Error)[]> {
    const attempt = (plan: AppendPlan) => ((inserted.length = 0), inserted.push(...plan.rows), plan.results);
    // READ COMMITTED: reads after taking the head lock must see every append committed before it.
    if (this.dialect === 'mysql') {
      return this.knex.transaction((trx) => this.appendBatch(trx, reqs), { isolationLevel: 'read committed' }).then(attempt);
    }
    return this.retryBusy(() => withSqliteConnection(this.knex, (db) => attempt(appendOnSqlite(db, reqs))));
  }

  private retryBusy<T>(fn: () => Promise<T>): Promise<T> {
    // better-sqlite3 waits for a lock synchronously, freezing the event loop, so its busy
    // timeout is kept short and a busy database is retried here, asynchronously, instead: soon
    // at first, as an append is on a caller's critical path.
    return retryOnContention(fn, { deadlineMs: SQLITE_BUSY_DEADLINE_MS, firstDelayMs: 1, maxDelayMs: 50 });
  }

  /** MySQL: the head row locked FOR UPDATE, then the plan's rows inserted. */
  private async appendBatch(trx: Knex.Transaction, reqs: AppendRequest[]): Promise<AppendPlan> {
    const head = await trx('event_log_head').where({ id: 1 }).forUpdate().first('next_position');
    const streams = [...new Set(reqs.map((r) => r.stream))];
    const revisions = new Map<string, number>();
    const maxRows = (await trx('events').whereIn('stream', streams).groupBy('stream').select('stream').max({ rev: 'revision' })) as {
      stream: string;
      rev: number | string;
    }[];
    for (const row of maxRows) revisions.set(row.stream, Number(row.rev));
    const stored = new Map<string, RecordedEvent>();
    const allIds = reqs.flatMap((r) => r.events.map((e) => e.id));
    for (let i = 0; i < allIds.length; i += 500) {
      for (const row of await trx<EventRow>('events').whereIn('id', allIds.slice(i, i + 500)).select('*')) stored.set(row.id, fromRow(row));
    }
    const plan = planAppends(reqs, { nextPosition: Number(head.next_position), revisions, stored });
    for (const part of statementChunks(plan.rows)) await trx('events').insert(part);
    if (plan.rows.length) await trx('event_log_head').where({ id: 1 }).update({ next_position: plan.nextPosition });
    return plan;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const q = this.knex<EventRow>('events').where({ stream }).orderBy('revision', backwards ? 'desc' : 'asc');
    if (options.fromRevision !== undefined) q.andWhere('revision', backwards ? '<=' : '>=', options.fromRevision);
    if (options.maxCount !== undefined) q.limit(options.maxCount);
    return (await q.select('*').catch((err: unknown) => this.fail(err, 'readStream', stream))).map(fromRow);
  }

  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.readAllRows(options).catch((err: unknown) => this.fail(err, 'readAll'));
  }

  private async readAllRows(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    options = { ...options, after: exclusiveStart(options) };
    const prefix = options.streamPrefix;
    if (prefix === undefined) {
      const rows = await this.knex<EventRow>('events').where('position', '>', options.after ?? -1).orderBy('position', 'asc').limit(limit).select('*');
      return rows.map(fromRow);
    }
    assertStreamPrefix(prefix);
    // The streams' range in the (stream, revision) index, not a scan of the log in position order:
    // the registry's few hundred events are found as fast in a log of millions as in an empty one.
    // Every table compares text exactly (createTable), so the range holds the prefix's streams only.
    const rows = await this.knex<EventRow>('events')
      .where('stream', '>=', prefix)
      .andWhere('stream', '<', prefixUpperBound(prefix))
      .andWhere('position', '>', options.after ?? -1)
      .orderBy('position', 'asc')
      .limit(limit)
      .select('*');
    return rows.map(fromRow);
  }

  /**
   * Catch-up from the table, then live. Appends made through this instance are handed over from
   * memory as they commit (no read, no wake-up delay) whenever they continue the feed exactly at
   * the next position; anything else (a gap left by another process's append, a backlog, a
   * buffer overflow) is read from the table, and a poll every `pollIntervalMs` finds appends made
   * elsewhere. Handed-over events are parsed from the inserted rows, once per row however many
   * subscribers take it, so they equal a read. With `streamPrefix` the table reads filter in SQL
   * and handed-over rows of other streams are passed over unparsed.
   */
  subscribeAll(options: SubscribeOptions = {}): Subscription {
    const prefix = options.streamPrefix;
    assertStreamPrefix(prefix);
    let stopped = false;
    let wake: (() => void) | undefined;
    let local: EventRow[] = [];
    let mustRead = true;
    const onAppend = (rows: EventRow[]) => {
      if (local.length + rows.length > LOCAL_HANDOFF_MAX) {
        // A slow reader: drop the buffer and read the table instead.
        local = [];
        mustRead = true;
      } else {
        for (const r of rows) local.push(r);
      }
      wake?.();
    };
    this.appended.on('appended', onAppend);
    const pollMs = this.options.pollIntervalMs ?? 200;
    const self = this;
    /** The buffered rows that continue the feed right after `after`, removing stale ones. */
    function takeLocal(after: number): EventRow[] {
      let i = 0;
      while (i < local.length && Number(local[i].position) <= after) i++;
      let j = i;
      while (j < local.length && Number(local[j].position) === after + 1 + (j - i)) j++;
      const run = local.slice(i, j);
      local = local.slice(j);
      // Buffered rows beyond a gap: the gap is someone else's append, only the table has it.
      if (local.length) mustRead = true;
      return run;
    }
    async function* feed(): AsyncGenerator<RecordedEvent> {
      let after = options.after ?? -1;
      try {
        while (!stopped && !self.closed) {
          const run = takeLocal(after);
          if (run.length) {
            for (const row of run) {
              after = Number(row.position);
              if (prefix && !row.stream.startsWith(prefix)) continue;
              yield self.parse(row);
              if (stopped) return;
            }
            continue;
          }
          if (mustRead) {
            mustRead = false;
            const page = prefix ? await self.readPrefix(prefix, after, 500) : self.unfiltered(await self.readAll({ after, limit: 500 }), 500);
            for (const e of page.events) {
              after = e.position;
              yield e;
              if (stopped) return;
            }
            if (page.scannedTo !== undefined) after = Math.max(after, page.scannedTo);
            if (page.full) mustRead = true;
            continue;
          }
          let polled = false;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => ((polled = true), resolve()), pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          if (polled) mustRead = true;
        }
      } finally {
        self.appended.off('appended', onAppend);
      }
    }
    const it = feed();
    return {
      [Symbol.asyncIterator]: () => it,
      async close() {
        stopped = true;
        wake?.();
        await it.return(undefined);
      },
    };
  }

  private readonly parsedRows = new WeakMap<EventRow, RecordedEvent>();

  /** A committed row as an event, parsed once and shared by every subscriber that takes it. */
  private parse(row: EventRow): RecordedEvent {
    let e = this.parsedRows.get(row);
    if (!e) this.parsedRows.set(row, (e = fromRow(row)));
    return e;
  }

  /**
   * Events of streams starting with `prefix` after `after`, and the position up to which the log
   * was scanned: the head read first (every position up to it is committed, appends being
   * serialized on the head row), so a follower can move past the other streams' events.
   */
  private async readPrefix(prefix: string, after: number, limit: number): Promise<FeedPage> {
    const head = await this.headPosition();
    const rows = await this.knex<EventRow>('events')
      .where('position', '>', after)
      .andWhere('position', '<=', head)
      .andWhereRaw(`stream LIKE ? ESCAPE '!'`, [`${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`])
      .orderBy('position', 'asc')
      .limit(limit)
      .select('*')
      .catch((err: unknown) => this.fail(err, 'subscribeAll'));
    // LIKE ignores ASCII case on SQLite and under MySQL's default collations: check exactly.
    const last = rows.length ? Number(rows[rows.length - 1].position) : head;
    return { events: rows.filter((r) => r.stream.startsWith(prefix)).map(fromRow), full: rows.length === limit, scannedTo: rows.length === limit ? last : head };
  }

  private unfiltered(events: RecordedEvent[], limit: number): FeedPage {
    return { events, full: events.length === limit };
  }

  /** One event by id (the SQL store indexes ids; not part of the port). */
  async getById(id: string): Promise<RecordedEvent | undefined> {
    const row = await this.knex<EventRow>('events').where({ id }).first('*').catch((err: unknown) => this.fail(err, 'getById'));
    return row ? fromRow(row) : undefined;
  }

  async headPosition(): Promise<number> {
    const head = await this.knex('event_log_head').where({ id: 1 }).first('next_position').catch((err: unknown) => this.fail(err, 'headPosition'));
    return Number(head.next_position) - 1;
  }

  async ping(): Promise<void> {
    await this.knex.raw('SELECT 1').catch((err: unknown) => this.fail(err, 'ping'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.group.idle();
    this.closed = true;
    this.appended.emit('appended', []);
    if (this.options.ownsKnex) await this.knex.destroy();
  }
}
