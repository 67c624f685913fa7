import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { defaultAppliers } from '../../projections';
import { cachedViews, writeCachedViews } from '../readmodels/read-model.cache';
import { bumpCacheEpoch, clockEpochFloor, readCacheEpoch } from '../readmodels/cache-epoch';
import type { RecordedEvent } from '../core/envelope';
import type { Bus, BusConsumer } from '../bus/port';
import type { Cache } from '../cache/port';
import { skipWhileDown, type SkippingCache } from '../cache/skip-while-down';
import { LIVE_TABLES, type ReadModelTables } from '../../projections/tables';
import { AppliedPositions } from '../readmodels/applied-positions';
import { advanceCheckpoints, readCheckpoints } from '../../projections/checkpoints';
import { projectionLagGauge } from './lag-metric';
import { emptyTouched, type ProjectionApplier, type Touched } from '../../projections/projection';
import { HeldWriteLock, type UnderWriteLock } from './write-lock';
import { ProjectionFailedError } from './errors';

/** Rolls a stream's replay back: the bus applied a later event of the stream than those replayed. */
class StreamMovedOn extends Error {}

/** Wait before raising the cache epoch again when the raise after a reconnect failed (the database down). */
const RETIRE_RETRY_MS = 1000;

export type ProjectorOptions = {
  knex: Knex;
  bus: Bus;
  /** Task and tool-catalog caches to keep current; omit to project into SQL only. */
  cache?: Cache;
  appliers?: ProjectionApplier[];
  /** The consumer group: one group runs every projection (default `openmcp-projector`). */
  group?: string;
  /** Most events written in one transaction; larger deliveries are split. */
  maxBatch?: number;
  /**
   * For the lag metric: how many events the log holds after a position, in events on every store
   * (`(p) => eventsAfter(store, p)`; a difference of KurrentDB positions is bytes).
   */
  eventsAfter?: (position: number) => Promise<number>;
  /**
   * For the lag metric under a bus that delivers out of global order (Kafka's partitions): the
   * events the group has not applied yet, counted by the bus (kafkaProjectionLag). Replaces
   * `eventsAfter(watermark)`, which a partition ahead of another hides.
   */
  lag?: () => Promise<number>;
  registry?: Registry;
  tables?: ReadModelTables;
  /**
   * How long the projections write lock (MySQL) is kept across batches, saving two round trips
   * each (default 250 ms). Use 0 when several projector processes share the database (Kafka
   * consumer group): a held lock makes the others wait out the window (docs/benchmarks.md).
   */
  lockHoldMs?: number;
  /**
   * Told of each batch that failed (database down, a bad event); the bus delivers it again after
   * a backoff. Without it a stuck projector shows only in the lag metric: the in-process bus
   * retries silently. Told too when the epoch raise after a reconnect to the cache failed (it is
   * tried again, and by the next batch).
   */
  onError?: (err: unknown) => void;
  /**
   * Told when the cache could not be refreshed after a commit (Redis down or hung). The batch
   * still counts as applied: the cache epoch is raised instead, so no process reads what the
   * refresh would have replaced; while the cache is left alone after that (skipWhileDown), batches
   * raise the epoch without trying Redis. Told once per such window.
   */
  onCacheError?: (err: unknown) => void;
  /** How long the cache is left alone after a failure (skipWhileDown; default CACHE_SKIP_MS). */
  cacheSkipMs?: number;
};

/**
 * Runs the read-model projections from a Bus consumer group.
 *
 * One group for all projections: each delivered batch is applied by every projection and their
 * checkpoints advanced in ONE transaction (one commit per batch, and the read models never
 * disagree about which events they have seen). Then the caches are refreshed, still under the
 * projections write lock (so projectors in several processes rewrite them in commit order), and
 * waiters told. A refresh that fails (Redis down or hung) does not hold the projections up: the
 * cache epoch is raised in SQL instead (cache-epoch.ts), which retires every cached view in every
 * process, and the next batch goes on.
 * A crash anywhere before the bus commits its progress means redelivery, which changes nothing
 * in SQL (idempotent evolve, insert-ignore for the log) and rewrites the caches (or raises the
 * epoch), so they cannot stay stale; and every start raises the epoch before its first batch
 * (retireOnStart), so no view left behind while no projector watched is read after it. Scale out
 * by running this in several processes with the Kafka bus: partitions (by stream) are shared
 * among the group's members.
 */
export class Projector {
  readonly applied = new AppliedPositions();
  private readonly appliers: ProjectionApplier[];
  private readonly tables: ReadModelTables;
  private consumer?: BusConsumer;
  private readonly watermarks = new Map<string, number>();
  private readonly lock: HeldWriteLock;
  private readonly cache?: SkippingCache;
  /** Returns of the cache's connection seen (it may have lost writes before each), and how many of them a raise of the epoch covers. */
  private readonly lostWrites = { seen: 0, retired: 0 };
  private stopWatchingCache?: () => void;
  private retryRetire?: NodeJS.Timeout;
  private retiring?: Promise<void>;

  constructor(private readonly options: ProjectorOptions) {
    this.cache = options.cache && skipWhileDown(options.cache, { onError: options.onCacheError, skipMs: options.cacheSkipMs });
    this.appliers = options.appliers ?? defaultAppliers();
    this.tables = options.tables ?? LIVE_TABLES;
    this.lock = new HeldWriteLock(options.knex, options.lockHoldMs);
    if (options.lag) {
      const lag = options.lag;
      // One group applies every projection in one transaction per batch: one lag for all.
      projectionLagGauge(options.registry, this.appliers.map((a) => a.name), async () => {
        const n = await lag();
        return this.appliers.map((a) => ({ projection: a.name, lag: n }));
      });
    } else if (options.eventsAfter) {
      const eventsAfter = options.eventsAfter;
      projectionLagGauge(options.registry, this.appliers.map((a) => a.name), async () => {
        // The projections share one watermark as a rule (one transaction per batch): count once per distinct one.
        const marks = this.appliers.map((a) => this.watermarks.get(a.name) ?? -1);
        const lags = new Map(await Promise.all([...new Set(marks)].map(async (m) => [m, await eventsAfter(m)] as const)));
        return this.appliers.map((a, i) => ({ projection: a.name, lag: lags.get(marks[i])! }));
      });
    }
  }

  get group(): string {
    return this.options.group ?? 'openmcp-projector';
  }

  /**
   * Retires every cached view first (retireOnStart), then consumes: a failure to raise the cache
   * epoch (the database down, the write lock not granted) fails the start, as reading the
   * checkpoints does.
   */
  async start(): Promise<void> {
    for (const [name, position] of await readCheckpoints(this.options.knex)) this.watermarks.set(name, position);
    this.stopWatchingCache = this.cache?.onWritesMaybeLost?.(() => {
      this.lostWrites.seen++;
      this.retireLostWrites();
    });
    try {
      if (this.cache) await this.retireOnStart();
    } catch (err) {
      this.stopWatchingCache?.();
      this.stopWatchingCache = undefined;
      throw err;
    }
    this.consumer = await this.options.bus.consume(this.group, (events) => this.applyEvents(events));
  }

  /**
   * Raise the cache epoch as the projector starts, before its first batch (and, in `openmcp
   * start`, before its process serves): what the cache holds now was not watched by this
   * projector, and may be older than the read models with no other projector to notice. Redis
   * restarted, failed over or was restored from an older snapshot while no projector ran (no
   * connection came back to tell retireLostWrites); a projector died between a commit and its
   * refresh (its redelivery rewrites those views, but only once the feed gets there); or the
   * database was restored from a backup, taking the epoch back to a value whose keys, and those
   * of the values after it, Redis may hold from the timeline the restore undid: hence a raise
   * to the clock (clockEpochFloor), not by one.
   *
   * Under the projections write lock like every raise (refreshCaches). Every projector raises
   * once per start, never more (the raise neither depends on nor waits for the others): N
   * projectors starting together retire the cache N times within their start, each costing a
   * miss per view read in between (docs/operations.md). It also covers a loss of the cache's
   * connection seen before it (lostWrites).
   */
  private async retireOnStart(): Promise<void> {
    const seen = this.lostWrites.seen;
    await this.lock.run((trx) => bumpCacheEpoch(trx, clockEpochFloor()));
    this.lostWrites.retired = Math.max(this.lostWrites.retired, seen);
  }

  /** Stops after the batch in hand is applied and its progress committed. */
  async stop(): Promise<void> {
    this.stopWatchingCache?.();
    this.stopWatchingCache = undefined;
    clearTimeout(this.retryRetire);
    const c = this.consumer;
    this.consumer = undefined;
    await c?.stop();
    await this.retiring;
    await this.lock.release();
  }

  /**
   * Raise the cache epoch once the cache's connection is back after being lost: the views this
   * projector wrote just before may be gone from the server it is back on, which then holds older
   * ones (a failover, a restart with AOF `everysec`), and readers, who fill only misses, would
   * serve those for the whole TTL. At once rather than at the next batch, which may be an hour
   * away; under the write lock like every raise (refreshCaches). Until a raise has covered the
   * return, a failed one is tried again, and every batch raises it first (refreshCaches).
   * Processes without a projector need nothing: the views a loss sets back are ones a projector
   * wrote, and it raises the epoch here, or as it starts when it was not running (retireOnStart).
   */
  private retireLostWrites(): void {
    const seen = this.lostWrites.seen;
    if (!this.stopWatchingCache || seen <= this.lostWrites.retired) return;
    clearTimeout(this.retryRetire);
    this.retiring = this.lock
      .run(async (trx) => {
        if (seen > this.lostWrites.retired) await bumpCacheEpoch(trx);
      })
      .then(
        () => void (this.lostWrites.retired = Math.max(this.lostWrites.retired, seen)),
        (err: unknown) => {
          this.options.onError?.(err);
          if (this.stopWatchingCache) this.retryRetire = setTimeout(() => this.retireLostWrites(), RETIRE_RETRY_MS).unref();
        },
      );
  }

  /** Apply a delivery (also usable without a bus, e.g. by tests and tools). */
  async applyEvents(events: RecordedEvent[]): Promise<void> {
    const size = this.options.maxBatch ?? 500;
    try {
      for (let i = 0; i < events.length; i += size) await this.applyBatch(events.slice(i, i + size));
    } catch (err) {
      this.options.onError?.(err);
      throw err;
    }
  }

  private async applyBatch(events: RecordedEvent[]): Promise<void> {
    if (!events.length) return;
    const touched = emptyTouched();
    const top = Math.max(...events.map((e) => e.position));
    const names = this.appliers.map((a) => a.name);
    await this.lock.run(
      async (trx) => {
        // First statement writes, so a SQLite transaction holds the writer lock before it reads.
        await advanceCheckpoints(trx, names, top);
        for (const a of this.appliers) {
          const mine = events.filter((e) => a.canHandle(e));
          if (mine.length) await a.apply(trx, this.tables, mine, touched).catch((err: unknown) => Promise.reject(new ProjectionFailedError(a.name, mine, err)));
        }
      },
      // Still under the write lock (MySQL): another projector's next commit waits for these
      // cache writes, so the views they read from the committed rows are never overwritten by older ones.
      this.cache ? (underLock) => this.refreshCaches(this.cache!, touched, underLock) : undefined,
    );
    for (const n of names) this.watermarks.set(n, Math.max(top, this.watermarks.get(n) ?? -1));
    this.applied.announce(events.map((e) => e.position));
  }

  /**
   * Rebuild the documents of one stream from `events`, all of the stream's events as the event
   * store holds them, in revision order (hash-checked by the caller): each projection that folds
   * a document in stream order (those with `replay`) deletes the documents they make and applies
   * them again, in one transaction under the projections write lock, then the caches of those
   * documents are rewritten as after a batch. For a stream a later event of which was applied
   * before an earlier one (GapRepair), which those projections pass over.
   *
   * False, with nothing changed, when the audit log already holds a later event of the stream than
   * the last of `events` (the bus applied it since they were read): read the stream again. Events
   * of `events` the bus has not delivered yet are folded in too; their delivery then changes
   * nothing, as a redelivery does. The audit log and the checkpoints are left as they are.
   * @example if (!(await projector.replayStream(await store.readStream(stream)))) { ... read again ... }
   */
  async replayStream(events: RecordedEvent[]): Promise<boolean> {
    if (!events.length) return true;
    const stream = events[0].stream;
    const last = events.reduce((m, e) => Math.max(m, e.position), -1);
    const touched = emptyTouched();
    const replayers = this.appliers.filter((a) => a.replay && events.some((e) => a.canHandle(e)));
    if (!replayers.length) return true;
    try {
      await this.lock.run(
        async (trx) => {
          // First statement writes (the watermarks kept as they are), so a SQLite transaction holds the writer lock before it reads.
          await advanceCheckpoints(trx, this.appliers.map((a) => a.name), -1);
          for (const a of replayers) {
            const mine = events.filter((e) => a.canHandle(e));
            await a.replay!(trx, this.tables, mine, touched).catch((err: unknown) => Promise.reject(new ProjectionFailedError(a.name, mine, err)));
          }
          // Batches write the audit log and the documents in one transaction: under the lock, this says whether the documents reflect a later event.
          const row = await trx(this.tables.auditEvents).where('stream', stream).max({ p: 'position' }).first();
          if (row?.p !== null && row?.p !== undefined && Number(row.p) > last) throw new StreamMovedOn();
        },
        this.cache ? (underLock) => this.refreshCaches(this.cache!, touched, underLock) : undefined,
      );
    } catch (err) {
      if (err instanceof StreamMovedOn) return false;
      // Not told onError, which says a batch failed and comes again: the caller (GapRepair) decides whether to try this again.
      throw err;
    }
    return true;
  }

  /**
   * Rewrite the cached views a committed batch changed, under the current epoch; if that may have
   * failed, raise the epoch, so that neither the views it could not rewrite nor the entries
   * readers fill meanwhile from the rows before this batch are read again. Only the database
   * failing (reading the views or the epoch, raising it) fails the batch, which is then retried.
   *
   * The raise runs under the projections write lock, on the connection holding it (underLock),
   * because a rebuild computes its new epoch from the live one under that lock and swaps it in
   * with its tables (stageCacheEpoch): a raise between the two would land on the epoch table
   * being swapped out and be lost, and the new epoch could equal the raised one, under which
   * readers may meanwhile have cached views of the old tables. On a pooled connection the raise
   * would be under the lock only while the lock's connection lived: were that one cut (network,
   * KILL), the server would free the lock for a rebuild while the raise was still on its way.
   * On the lock's connection it runs under the lock or fails (and the batch is retried).
   * Reading the epoch and the views needs no such care: a view read around a swap is written
   * under an epoch no newer than the swapped-out table's, which the swap retires.
   */
  private async refreshCaches(cache: SkippingCache, touched: Touched, underLock: UnderWriteLock): Promise<void> {
    const lost = this.lostWrites.seen;
    if (lost > this.lostWrites.retired) {
      // Not yet raised since the cache came back (retireLostWrites): first that, then this batch's views under the new epoch.
      await underLock((trx) => bumpCacheEpoch(trx));
      this.lostWrites.retired = Math.max(this.lostWrites.retired, lost);
    }
    if (!touched.taskIds.size && !touched.catalogTenants.size) return;
    const knex = this.options.knex;
    if (!cache.skipping) {
      const views = await cachedViews(knex, this.tables, touched, await readCacheEpoch(knex));
      try {
        await writeCachedViews(cache, views);
        return;
      } catch {
        // Told through onCacheError by skipWhileDown, once per window.
      }
    }
    await underLock((trx) => bumpCacheEpoch(trx));
  }
}
