import type { Knex } from 'knex';
import { defaultAppliers } from '../../projections';
import { createCacheEpochTable, stageCacheEpoch } from '../readmodels/cache-epoch';
import { ValidationError } from '../core/errors';
import { dialectOf } from '../db/knex';
import type { EventStore } from '../eventstore/port';
import { emptyTouched, type ProjectionApplier } from '../../projections/projection';
import { swapTables, type TableSwap } from '../projector/swap-tables';
import { withWriteLock } from '../projector/write-lock';
import { projectionSchemas } from '../readmodels/schema';
import { CACHE_EPOCH_TABLE, CHECKPOINT_TABLE, LIVE_TABLES, type ReadModelTables } from '../../projections/tables';

export type RebuildProjectionDependencies = {
  /** The read models' database (migrations applied). */
  knex: Knex;
  /** The event log to replay from position 0. */
  store: EventStore;
  appliers?: ProjectionApplier[];
  /** Events read and applied per transaction (default 1000). */
  batchSize?: number;
  log?: (message: string) => void;
};

export type RebuildProjectionReturnType = { projection: string; events: number; tables: string[]; ms: number };

const MAX_SWAP_ATTEMPTS = 20;

async function liveWatermark(trx: Knex.Transaction, name: string): Promise<number> {
  const row = await trx(CHECKPOINT_TABLE).where('projection', name).first('position');
  return row ? Number(row.position) : -1;
}

/**
 * `openmcp projections rebuild <name>`: replay the whole log into fresh tables, then swap them
 * in while the API keeps reading the live tables until the swap.
 *
 * Safe beside a running projector: the final catch-up and the swap happen under the projections'
 * write lock (see withWriteLock), and only once the fresh tables cover every position the live
 * projector has applied (its checkpoint); events the fresh tables hold beyond that are applied
 * again by the live projector after the swap, which changes nothing (idempotent evolve).
 * The cache epoch is raised by the swap itself: a fresh epoch table holding a higher epoch is
 * renamed in with the fresh tables, in the same atomic rename (stageCacheEpoch), so no process,
 * whatever its cache (Redis or its own memory), serves a view cached from the old tables
 * afterwards, even when the rebuild fails right after the swap: they fill from the new ones.
 * The old tables are dropped afterwards.
 * @example await rebuildProjection({ knex, store }, 'tasks')
 */
export async function rebuildProjection(deps: RebuildProjectionDependencies, name: string): Promise<RebuildProjectionReturnType> {
  const started = Date.now();
  const appliers = deps.appliers ?? defaultAppliers();
  const applier = appliers.find((a) => a.name === name);
  const schema = projectionSchemas[name];
  if (!applier || !schema) {
    throw new ValidationError(`projection ${JSON.stringify(name)} is unknown; one of: ${appliers.map((a) => a.name).join(', ')}`, { field: 'name' });
  }
  const beside = (schema.alsoApplies ?? []).map((n) => appliers.find((a) => a.name === n)).filter((a): a is ProjectionApplier => a !== undefined);
  const log = deps.log ?? (() => undefined);
  // Random as well as timed: every rebuild swaps the one epoch table, so two started in the same
  // millisecond (two projections, two processes) must not share its fresh or old name.
  const suffix = `__r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const fresh: ReadModelTables = { ...LIVE_TABLES };
  const swaps: TableSwap[] = schema.tables.map((k) => {
    fresh[k] = `${LIVE_TABLES[k]}${suffix}`;
    return { live: LIVE_TABLES[k], fresh: fresh[k], old: `${LIVE_TABLES[k]}__old${suffix.slice(3)}` };
  });
  const epochSwap: TableSwap = { live: CACHE_EPOCH_TABLE, fresh: `${CACHE_EPOCH_TABLE}${suffix}`, old: `${CACHE_EPOCH_TABLE}__old${suffix.slice(3)}` };
  const created = [...swaps, epochSwap];

  let after: number | undefined;
  let applied = 0;
  /** Replay from `after` to the head of the log, or (`until`) at least to that position, in `into` or one transaction a batch. */
  const copy = async (into?: Knex.Transaction, until?: number) => {
    while (until === undefined || (after ?? -1) < until) {
      const events = await deps.store.readAll({ after, limit: deps.batchSize ?? 1000 });
      if (!events.length) return;
      const mine = events.filter((e) => applier.canHandle(e));
      // With the projections it also applies (alsoApplies), into their live tables in the same transaction.
      const apply = async (trx: Knex.Transaction) => {
        await applier.apply(trx, fresh, mine, emptyTouched());
        for (const b of beside) await b.apply(trx, fresh, events.filter((e) => b.canHandle(e)), emptyTouched());
      };
      if (mine.length) await (into ? apply(into) : deps.knex.transaction(apply));
      applied += mine.length;
      after = events[events.length - 1].position;
    }
  };

  try {
    await createCacheEpochTable(deps.knex, epochSwap.fresh);
    await schema.create(deps.knex, fresh);
    await copy();
    log(`${name}: ${applied} events replayed into ${swaps.map((s) => s.fresh).join(', ')}`);
    for (let attempt = 0; ; attempt++) {
      const swapped = await withWriteLock(deps.knex, async (trx) => {
        // A write first, so SQLite takes its writer lock before the checkpoint is read.
        await trx(CHECKPOINT_TABLE)
          .insert({ projection: `rebuild:${name}`, position: after ?? -1, updated_at: new Date().toISOString() })
          .onConflict('projection')
          .merge();
        // Under the lock the live projector cannot advance: the rest up to its watermark is copied
        // here, or under steady traffic it would always have moved on by the time the rebuild
        // came back for the lock. MySQL only: there the log is read on other connections of the
        // pool, where SQLite's one connection is this transaction's (there each try is short, as
        // the single writer lets the live projector commit only between them).
        const watermark = await liveWatermark(trx, name);
        if (watermark > (after ?? -1) && dialectOf(deps.knex) === 'mysql') await copy(trx, watermark);
        if (watermark > (after ?? -1)) return false;
        // The new epoch goes in with the tables, in one rename: on MySQL RENAME TABLE commits, so
        // nothing after it may be needed by the new tables. Read under the write lock, which every
        // raise of the epoch holds too (Projector.refreshCaches), so none lands in between.
        await stageCacheEpoch(trx, epochSwap.fresh);
        await swapTables(trx, [...swaps, epochSwap]);
        return true;
      });
      if (swapped) break;
      if (attempt >= MAX_SWAP_ATTEMPTS) throw new Error(`rebuild ${name}: the live projector kept ahead of the rebuild`);
      await copy();
    }
  } catch (err) {
    for (const s of created) await deps.knex.schema.dropTableIfExists(s.fresh).catch(() => undefined);
    throw err;
  }
  for (const s of created) await deps.knex.schema.dropTableIfExists(s.old);
  log(`${name}: swapped in; ${applied} events`);
  if (schema.fillLive) log(`${name}: ${await schema.fillLive(deps.knex)} rows of the live tables it reads filled`);
  return { projection: name, events: applied, tables: swaps.map((s) => s.live), ms: Date.now() - started };
}
