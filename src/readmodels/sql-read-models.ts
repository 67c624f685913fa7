import type { Knex } from 'knex';
import { batchFromRow } from '../../projections/batches.sql';
import type { BatchDoc } from '../../projections/batches.projection';
import { tasksProjection } from '../../projections/tasks.projection';
import { parseStream, type RecordedEvent } from '../core/envelope';
import { ValidationError } from '../core/errors';
import { IndexHints } from '../db/index-names';
import { dialectOf } from '../db/knex';
import { reportSqlOutages } from '../db/report-sql-outages';
import type { Cache } from '../cache/port';
import { skipWhileDown, type SkippingCache } from '../cache/skip-while-down';
import type { AppliedPositions } from './applied-positions';
import { READ_CACHE_TTL_MS, taskCacheKey, toolCatalogCacheKey } from './cache-keys';
import { readCacheEpoch } from './cache-epoch';
import { sharedRead } from './shared-read';
import { AuditAppliedThrough, auditHead } from './audit-applied-through';
import { StoreAppliedThrough, type LogReader } from './store-applied-through';
import { aliasToolName, splitToolName } from '../core/tool-name';
import { decodeTaskCursor, decodeToolCallCursor, encodeTaskCursor, encodeToolCallCursor } from './cursor';
import { whereBeforeKey } from './keyset';
import type { AuditEventFilter, AuditEventView, SubjectDetails, SubjectEventFilter, SubjectEventsPage, BatchView, Page, ReadModels, TaskListFilter, TaskView, ToolCallListFilter, ToolCallView, ToolCatalogEntry } from './port';
import { LIVE_TABLES, type ReadModelTables } from '../../projections/tables';
import { AUDIT_TENANT_INDEX, AUDIT_TENANT_TYPE_INDEX } from './schema';
import { loadTaskViews } from './task-views';
import { subjectPositions } from './subject-positions';
import { subjectRanges } from './subject-ranges';
import { firstUnindexedPosition } from './subject-index-repair';
import { loadToolCatalog } from './tool-catalog';
import { toolCallFromRow } from '../../projections/tool-calls.sql';
import { toolCallView } from './tool-call-view';
import { auditView } from './audit-view';
import { fitting, MAX_PAGE_CHARS } from './page-fit';
import { toolCallSizes } from './tool-call-sizes';
import { loadSubjectDetails } from './subject-details';
import { sealedTurns, type SealedTurnsPage } from './sealed-turns';

export type SqlReadModelsOptions = {
  knex: Knex;
  /** Cache of tasks by id and tool catalogs, kept current by the projector. */
  cache?: Cache;
  /** The in-process projector's notifications (Projector.applied); without it, waits poll the database. */
  applied?: AppliedPositions;
  /** Poll interval of waitForPosition (default 25 ms without `applied`, 250 ms with it). */
  pollIntervalMs?: number;
  tables?: ReadModelTables;
  /** Told of a cache failure (Redis down); reads are answered from SQL meanwhile (skipWhileDown). */
  onCacheError?: (err: unknown) => void;
  /** How long the cache is left alone after a failure (skipWhileDown; default CACHE_SKIP_MS). */
  cacheSkipMs?: number;
  /**
   * The event store numbers the log 0, 1, 2, … without gaps (EventStore.gapFreePositions: the SQL
   * store). The audit list then stops before a position not applied yet (listAuditEvents).
   */
  gapFreePositions?: boolean;
  /**
   * The event store, where its positions have gaps (KurrentDB): the audit list then stops before
   * the first of its events the audit log has not applied yet (StoreAppliedThrough), as it does
   * with gap-free positions. Ignored with `gapFreePositions`.
   */
  store?: LogReader;
};

const MAX_LIMIT = 1000;

export { MAX_PAGE_CHARS };

const SHARED_TENANT = '*';
const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/;

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit: an integer from 1 to ${MAX_LIMIT}`, { field: 'limit' });
}

function checkTime(field: 'from' | 'to', v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!ISO_RE.test(v) || Number.isNaN(Date.parse(v))) throw new ValidationError(`${field}: an ISO 8601 time`, { field });
  return new Date(v).toISOString();
}

function batchView(d: BatchDoc): BatchView {
  const v: BatchView = { id: d.batchId, firstSeq: d.firstSeq, lastSeq: d.lastSeq, root: d.root, prevRoot: d.prevRoot, signer: d.signer, signature: d.signature, sealedAt: d.sealedAt };
  if (d.txHash) v.anchor = { chainId: d.chainId, contract: d.contract, txHash: d.txHash, blockNumber: d.blockNumber, gasUsed: d.gasUsed, anchoredAt: d.anchoredAt! };
  return JSON.parse(JSON.stringify(v)) as BatchView;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

/**
 * The ReadModels port over the SQL read models (MySQL/MariaDB or SQLite) with a Cache in front
 * of the hot reads.
 * @example const rm = new SqlReadModels({ knex, cache, applied: projector.applied })
 */
export class SqlReadModels implements ReadModels {
  private readonly t: ReadModelTables;
  private readonly cache?: SkippingCache;
  private readonly hints: IndexHints;
  private readonly epoch: () => Promise<number>;
  /**
   * AuditAppliedThrough.find (gap-free positions) or StoreAppliedThrough.find (a store given), one
   * read for the lists asked for in the same event-loop turn; undefined when the list is not held.
   */
  private readonly auditAppliedThrough?: () => Promise<number>;

  constructor(private readonly options: SqlReadModelsOptions) {
    this.t = options.tables ?? LIVE_TABLES;
    this.epoch = sharedRead(() => readCacheEpoch(options.knex));
    this.hints = new IndexHints(options.knex);
    const prefix = options.gapFreePositions === true
      ? new AuditAppliedThrough(options.knex, this.t.auditEvents)
      : options.store && new StoreAppliedThrough(options.knex, options.store, this.t.auditEvents);
    if (prefix) this.auditAppliedThrough = sharedRead(() => prefix.find());
    this.cache = options.cache && skipWhileDown(options.cache, { onError: options.onCacheError, skipMs: options.cacheSkipMs });
    // Every read answers a request: a database outage is a 503, not a 500.
    return reportSqlOutages(this, `read models (${dialectOf(options.knex)})`);
  }

  private get db(): Knex {
    return this.options.knex;
  }

  /**
   * Read-through: a miss is filled with a set-if-absent (atomic), so a
   * value the projector wrote in the meantime always wins over the possibly older row read here.
   * The key is that of the cache epoch read from the database first (cache-epoch.ts; one query
   * for the reads asked for in the same event-loop turn, never one begun before this read was
   * asked for: sharedRead, which took a cached GET's CPU from ~125 to ~65 µs): an entry
   * the projector could not keep current (Redis was down for it, maybe not for this process) is
   * under an older epoch and never read. The cache only speeds reads up: when it fails (Redis
   * down) the read is answered from SQL, the source of the cached values, and the cache is left
   * alone for a while (skipWhileDown).
   */
  private async readThrough<T>(key: (epoch: number) => string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const cache = this.cache;
    // While the cache is left alone, neither it nor the epoch (a query of its own) is read.
    if (!cache || cache.skipping) return load();
    const k = key(await this.epoch());
    try {
      const hit = await cache.get(k);
      if (hit !== undefined) return JSON.parse(hit) as T;
    } catch {
      return load();
    }
    const value = await load();
    if (value !== undefined) await cache.setIfAbsent(k, JSON.stringify(value), READ_CACHE_TTL_MS).catch(() => {});
    return value;
  }

  async getTask(tenant: string, id: string): Promise<TaskView | undefined> {
    const view = await this.readThrough((epoch) => taskCacheKey(epoch, id), async () => (await loadTaskViews(this.db, this.t, [id])).get(id));
    return view && view.tenant === tenant ? view : undefined;
  }

  async listTasks(tenant: string, filter: TaskListFilter): Promise<Page<TaskView>> {
    checkLimit(filter.limit);
    const from = checkTime('from', filter.from);
    const to = checkTime('to', filter.to);
    const q = this.db(this.t.tasks).where('tenant', tenant).select('id', 'created_at');
    if (filter.status) q.where('status', filter.status);
    if (filter.agentId) q.where('agent_id', filter.agentId);
    if (from) q.where('created_at', '>=', from);
    if (to) q.where('created_at', '<=', to);
    if (filter.cursor !== undefined) {
      const c = decodeTaskCursor(filter.cursor);
      whereBeforeKey(q, 'created_at', c.createdAt, c.id);
    }
    const rows = await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    const views = await loadTaskViews(this.db, this.t, page.map((r) => String(r.id)));
    const items = page.map((r) => views.get(String(r.id))).filter((v): v is TaskView => v !== undefined);
    const last = page[page.length - 1];
    return rows.length > filter.limit ? { items, nextCursor: encodeTaskCursor({ createdAt: String(last.created_at), id: String(last.id) }) } : { items };
  }

  /**
   * Newest request first, then id; calls without a request time (their request never projected)
   * after all others, by id. Each filter has an index with the list's order: (tenant,
   * requested_at) and (tenant, <server|tool|status|task_id>, requested_at, id); other filters
   * given with one narrow its rows. The cursor is a range bound on requested_at (whereBeforeKey).
   * The page's keys are read first and its rows after, by id: asked for whole rows at once,
   * MariaDB walks the tenant's index from the top (a `ref` on tenant) instead of seeking to the
   * cursor, as it does when the index alone answers (tasks are read the same way). Not cached: a
   * call's row changes within its latency, and the list is not a hot read.
   */
  async listToolCalls(tenant: string, filter: ToolCallListFilter): Promise<Page<ToolCallView>> {
    checkLimit(filter.limit);
    const from = checkTime('from', filter.from);
    const to = checkTime('to', filter.to);
    const c = filter.cursor === undefined ? undefined : decodeToolCallCursor(filter.cursor);
    const filtered = () => {
      const q = this.db(this.t.toolCalls).where('tenant', tenant);
      if (filter.server !== undefined) q.where('server', filter.server);
      if (filter.tool !== undefined) q.where('tool', filter.tool);
      const anyOf = filter.anyOf;
      if (anyOf?.length) {
        // The tools' IN first: the (tenant, tool, requested_at, id) index serves it, the readings narrow it.
        q.whereIn('tool', [...new Set(anyOf.map((a) => a.tool))]).where((either) => {
          for (const a of anyOf) either.orWhere((one) => (a.server === undefined ? one.where('tool', a.tool) : one.where('server', a.server).where('tool', a.tool)));
        });
      }
      if (filter.status !== undefined) q.where('status', filter.status);
      if (filter.taskId !== undefined) q.where('task_id', filter.taskId);
      return q;
    };
    const want = filter.limit + 1;
    let rows: Record<string, unknown>[] = [];
    if (c?.requestedAt !== null) {
      const q = filtered().whereNotNull('requested_at').select('id', 'requested_at');
      if (from) q.where('requested_at', '>=', from);
      if (to) q.where('requested_at', '<=', to);
      if (c) whereBeforeKey(q, 'requested_at', c.requestedAt, c.id);
      rows = await q.orderBy([{ column: 'requested_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(want);
    }
    // A time range never matches a call without a request time.
    if (rows.length < want && !from && !to) {
      const q = filtered().whereNull('requested_at').select('id', 'requested_at');
      if (c?.requestedAt === null) q.where('id', '<', c.id);
      rows.push(...(await q.orderBy('id', 'desc').limit(want - rows.length)));
    }
    // What each call holds, so that the page stops within MAX_PAGE_CHARS before its rows are read
    // (asked by id, apart from the keys: the key query keeps its index-only plan).
    const sizes = await toolCallSizes(this.db, this.t.toolCalls, tenant, rows.slice(0, filter.limit).map((r) => String(r.id)));
    const page = rows.slice(0, fitting(rows.map((r) => ({ size: sizes.get(String(r.id)) ?? 0 })), filter.limit));
    const full = new Map<string, Record<string, unknown>>();
    if (page.length) for (const r of await this.db(this.t.toolCalls).where('tenant', tenant).whereIn('id', page.map((r) => String(r.id)))) full.set(String(r.id), r);
    const items = page.flatMap((r) => (full.has(String(r.id)) ? [toolCallView(toolCallFromRow(full.get(String(r.id))!))] : []));
    // The cursor is the page's last key as read, even if its row has been updated since.
    const last = page[page.length - 1];
    const reading = filter.reading ? { reading: filter.reading } : {};
    return rows.length > page.length ? { items, nextCursor: encodeToolCallCursor({ requestedAt: last.requested_at === null ? null : String(last.requested_at), id: String(last.id), ...reading }) } : { items };
  }

  /**
   * An alias begins with its server's name (which holds only characters an alias keeps) and ends
   * with `_` and its digest's hex digits: the server's distinct tools are hashed until one gives it.
   * Reads the server's distinct tools from the (tenant, server, tool) index alone (TOOL_CALL_SERVER_TOOL_INDEX),
   * not its calls: asked for any name of that form the catalog does not serve, as often as a caller likes.
   * An alias whose server's name was cut short in it (over 54 characters, fewer with a longer digest) names no server: undefined.
   */
  async toolOfAlias(tenant: string, alias: string): Promise<{ server: string; tool: string } | undefined> {
    const digest = /_([0-9a-f]{8,56})$/.exec(alias);
    const split = splitToolName(alias);
    if (!digest || !split) return undefined;
    const rows = await this.db(this.t.toolCalls).where({ tenant, server: split.server }).distinct('tool');
    const tool = rows.map((r) => String(r.tool)).find((t) => aliasToolName(split.server, t, digest[1].length) === alias);
    return tool === undefined ? undefined : { server: split.server, tool };
  }

  async getToolCall(tenant: string, id: string): Promise<ToolCallView | undefined> {
    const row = await this.db(this.t.toolCalls).where({ id, tenant }).first();
    return row ? toolCallView(toolCallFromRow(row)) : undefined;
  }

  /**
   * Oldest first, by position. One tenant's events, all or of one type, are read in the order of
   * their (tenant[, type], position) index from the cursor on, MariaDB told so (IndexHints).
   * A page ends before the first position the audit log lacks (gap-free positions), or before the
   * first event of the store it lacks (positions with gaps, `store` given): under
   * Kafka each partition is applied on its own, so a later position can be there before an
   * earlier one, and a client that went on from it (its cursor, `after`) would never see the
   * earlier one. One stream is applied in its own order (one partition), so its list is not held.
   * A client already past that position gets nothing until it is applied.
   */
  async listAuditEvents(tenant: string | null, filter: AuditEventFilter): Promise<Page<AuditEventView>> {
    checkLimit(filter.limit);
    if (filter.after !== undefined && (!Number.isSafeInteger(filter.after) || filter.after < -1)) throw new ValidationError('after: a position (integer >= -1)', { field: 'after' });
    // Found before the page is read: every position up to it was in the table then, so the page has them all.
    const through = this.auditAppliedThrough && !filter.stream ? await this.auditAppliedThrough() : undefined;
    const index = tenant !== null && !filter.stream ? (filter.type ? AUDIT_TENANT_TYPE_INDEX : AUDIT_TENANT_INDEX) : undefined;
    // The page's positions and sizes first, then the bodies of those that fit MAX_PAGE_CHARS:
    // `limit` events of up to 4 MiB each would otherwise be read, parsed and sent whole.
    const sized = await this.hints.run(this.t.auditEvents, index, (from) => {
      const q = this.db.from(from).select('position', this.db.raw('LENGTH(body) AS size'));
      if (tenant !== null) q.where('tenant', tenant);
      if (filter.stream) q.where('stream', filter.stream);
      if (filter.type) q.where('type', filter.type);
      if (filter.after !== undefined) q.where('position', '>', filter.after);
      if (through !== undefined) q.where('position', '<=', through);
      return q.orderBy('position', 'asc').limit(filter.limit + 1);
    });
    return this.auditPage(sized, filter.limit);
  }

  /**
   * The events of one data subject of `tenant` (docs/security.md, "An access or export request"):
   * those whose actor is `filter.actor`, those of its API key's stream, those sealed under one of
   * `filter.kids` and their erasures, in position order, from a few index ranges (subjectRanges:
   * the audit log's actor and stream indexes, the subject index of sealed payloads). Pages end as
   * listAuditEvents' do: before MAX_PAGE_CHARS of bodies, and before the first position the audit
   * log lacks (gap-free positions) or the first event of the store it lacks (KurrentDB, `store`
   * given; the index commits with the audit log), so a cursor never passes one over. And before
   * the tenant's first audit row without its actor (firstUnindexedPosition): an older release's
   * projector applied it (a rolling upgrade, a rollback) without its actor or index rows, so no
   * range finds it until the projectors' repair fills it (within a minute; startSubjectIndexRepair).
   */
  async listSubjectEvents(tenant: string, filter: SubjectEventFilter): Promise<SubjectEventsPage> {
    checkLimit(filter.limit);
    if (filter.after !== undefined && (!Number.isSafeInteger(filter.after) || filter.after < -1)) throw new ValidationError('after: a position (integer >= -1)', { field: 'after' });
    // The log's head before its applied prefix is found: rows up to it past the prefix were there
    // (a gap, a backlog) when this page was asked, while rows past it came since (the head moving on).
    const head = this.auditAppliedThrough ? await auditHead(this.db, this.t.auditEvents) : undefined;
    const applied = this.auditAppliedThrough ? await this.auditAppliedThrough() : undefined;
    // Looked for after the applied prefix is found: a row applied since lies past that prefix.
    const unindexed = await firstUnindexedPosition(this.db, tenant, this.t, this.hints);
    const through = unindexed === undefined ? applied : Math.min(applied ?? Infinity, unindexed - 1);
    const ranges = subjectRanges(this.t, tenant, filter.actor, filter.kids);
    const candidates = await subjectPositions(this.db, this.hints, { ranges, after: filter.after, through, limit: filter.limit + 1 });
    const sized = candidates.length
      ? await this.db(this.t.auditEvents).whereIn('position', candidates).select('position', this.db.raw('LENGTH(body) AS size')).orderBy('position', 'asc')
      : [];
    const page = await this.auditPage(sized, filter.limit);
    if (page.nextCursor !== undefined || through === undefined) return page;
    // The last page for now: said to be held when events lie past `through` (an export waits for
    // them; a page without a cursor alone reads as the end): the unindexed row, or rows the log
    // had when the page was asked (not those applied since: a busy log would hold every last page).
    const reason = unindexed !== undefined && unindexed - 1 === through ? 'unindexed' : 'unapplied';
    if (reason === 'unapplied' && !(head !== undefined && head > through)) return page;
    return { ...page, held: { position: through + 1, reason } };
  }

  /** sealedTurns: a page of the model turns sealed under one of `kids`, from the subject index. */
  listSealedTurns(tenant: string, kids: readonly string[], page: { after?: number; limit: number }): Promise<SealedTurnsPage> {
    return sealedTurns(this.db, this.t, this.hints, tenant, kids, page);
  }

  /**
   * The position up to which the subject index holds every event of `tenant`: the audit log's
   * applied prefix (waitForPosition answers for one position only, and under Kafka a later one can
   * be applied before an earlier one), before the tenant's first row applied unindexed (listSubjectEvents).
   */
  async subjectIndexedThrough(tenant: string): Promise<number | undefined> {
    const applied = this.auditAppliedThrough ? await this.auditAppliedThrough() : undefined;
    const unindexed = await firstUnindexedPosition(this.db, tenant, this.t, this.hints);
    return unindexed === undefined ? applied : Math.min(applied ?? Infinity, unindexed - 1);
  }

  /** loadSubjectDetails: the tasks and calls a page of a subject's events is about, with the tasks' trails. */
  subjectDetails(tenant: string, items: AuditEventView[], subject: Omit<SubjectEventFilter, 'limit'>): Promise<SubjectDetails & { taken: number }> {
    return loadSubjectDetails(this.db, this.t, tenant, items, { subject, hints: this.hints });
  }

  /**
   * The page of audit events at `sized` (positions in order with their bodies' sizes, one more
   * than `limit` when there are more): those that fit MAX_PAGE_CHARS, read whole, with the cursor
   * of the last when some were left.
   */
  private async auditPage(sized: { position: number | string; size: number | string | null }[], limit: number): Promise<Page<AuditEventView>> {
    const taken = fitting(sized, limit);
    const positions = sized.slice(0, taken).map((r) => Number(r.position));
    const rows = positions.length
      ? await this.db(this.t.auditEvents).whereIn('position', positions).select('body', 'seq', 'batch_id', 'position').orderBy('position', 'asc')
      : [];
    const items = rows.map(auditView);
    return sized.length > taken ? { items, nextCursor: String(positions[positions.length - 1]) } : { items };
  }

  async getAuditEvent(tenant: string | null, id: string): Promise<AuditEventView | undefined> {
    const q = this.db(this.t.auditEvents).where('id', id).select('body', 'seq', 'batch_id');
    if (tenant !== null) q.where('tenant', tenant);
    const row = await q.first();
    return row ? auditView(row) : undefined;
  }

  /**
   * Every projection commits a batch in one transaction with its audit-log rows, so "the audit
   * row at `position` exists" means every read model reflects that event. This holds under Kafka
   * too, where a checkpoint watermark would not (partitions are applied out of global order).
   * The cache is rewritten after that commit, so it is asked too (cacheShows).
   */
  private async isApplied(position: number): Promise<boolean> {
    const row = await this.db(this.t.auditEvents).where('position', position).first('stream', 'type', 'revision');
    return row !== undefined && (await this.cacheShows(String(row.stream), String(row.type), Number(row.revision)));
  }

  /**
   * Whether a cached read of the event's task shows it. The projector rewrites a cached view only
   * after its commit, so between the two the audit row is there while a GET of the task would
   * still answer the view before it (from Redis): a process without the projector's notification
   * (an API replica) must wait for the rewrite too. A miss is answered from SQL, which has the
   * event; so is every read while the cache is left alone, or after a raised epoch (a new key).
   */
  private async cacheShows(stream: string, type: string, revision: number): Promise<boolean> {
    const cache = this.cache;
    // Only the tasks projection's own events set a task view's revision to theirs.
    if (!cache || cache.skipping || !tasksProjection.canHandle({ stream, type } as RecordedEvent)) return true;
    const key = taskCacheKey(await this.epoch(), parseStream(stream).id);
    let hit: string | undefined;
    try {
      hit = await cache.get(key);
    } catch {
      return true;
    }
    return hit === undefined || (JSON.parse(hit) as TaskView).revision >= revision;
  }

  async waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    const applied = this.options.applied;
    const waiter = applied?.wait(position);
    try {
      // Read-your-writes asks right after the append, when this process's projector has not got
      // that far yet: the check would almost always miss, and it is a query per command. The
      // notification, or the poll for positions applied elsewhere, answers instead.
      const ahead = applied !== undefined && position > applied.highest;
      if (!ahead && (await this.isApplied(position))) return true;
      const interval = this.options.pollIntervalMs ?? (applied ? 250 : 25);
      const deadline = Date.now() + timeoutMs;
      let notified = false;
      waiter?.promise.then(() => (notified = true));
      while (Date.now() < deadline) {
        // Without a notifier only the sleep: racing `undefined` would settle at once and turn
        // the poll into a busy loop of queries (on SQLite, one that starves the projector).
        const pause = sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
        await (waiter ? Promise.race([pause, waiter.promise]) : pause);
        if (notified || (await this.isApplied(position))) return true;
      }
      return false;
    } finally {
      waiter?.cancel();
    }
  }

  async listToolCatalog(tenant: string): Promise<ToolCatalogEntry[]> {
    const tenants = tenant === SHARED_TENANT ? [SHARED_TENANT] : [tenant, SHARED_TENANT];
    const lists = await Promise.all(tenants.map((x) => this.readThrough((epoch) => toolCatalogCacheKey(epoch, x), () => loadToolCatalog(this.db, this.t, x))));
    return lists.flatMap((l) => l ?? []);
  }

  async listBatches(filter: { after?: number; limit: number }): Promise<Page<BatchView>> {
    checkLimit(filter.limit);
    const q = this.db(this.t.batches).orderBy('batch_id', 'asc').limit(filter.limit + 1);
    if (filter.after !== undefined) q.where('batch_id', '>', filter.after);
    const rows = await q;
    const items = rows.slice(0, filter.limit).map((r) => batchView(batchFromRow(r)));
    return rows.length > filter.limit ? { items, nextCursor: String(items[items.length - 1].id) } : { items };
  }

  async getBatch(id: number): Promise<BatchView | undefined> {
    const row = await this.db(this.t.batches).where('batch_id', id).first();
    return row ? batchView(batchFromRow(row)) : undefined;
  }
}
