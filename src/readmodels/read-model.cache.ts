import type { Knex } from 'knex';
import type { Cache } from '../cache/port';
import type { Touched } from '../../projections/projection';
import { READ_CACHE_TTL_MS, taskCacheKey, toolCatalogCacheKey } from './cache-keys';
import type { ReadModelTables } from '../../projections/tables';
import { loadTaskViews } from './task-views';
import { loadToolCatalog } from './tool-catalog';

/** A cache entry to write: its key and JSON value, or no value (the view is gone: delete the key). */
export type CachedView = { key: string; value?: string };

/**
 * The cache applier's read half: after a batch's transaction has committed, the new value of
 * every cached read it touched (a task by id, a tenant's tool catalog), keyed under the cache
 * epoch `epoch` read after that commit.
 */
export async function cachedViews(db: Knex, t: ReadModelTables, touched: Touched, epoch: number): Promise<CachedView[]> {
  const out: CachedView[] = [];
  if (touched.taskIds.size) {
    const ids = [...touched.taskIds];
    const views = await loadTaskViews(db, t, ids);
    for (const id of ids) {
      const v = views.get(id);
      out.push({ key: taskCacheKey(epoch, id), value: v && JSON.stringify(v) });
    }
  }
  for (const tenant of touched.catalogTenants) {
    out.push({ key: toolCatalogCacheKey(epoch, tenant), value: JSON.stringify(await loadToolCatalog(db, t, tenant)) });
  }
  return out;
}

/**
 * The cache applier's write half. Rejects when a write may not have landed; the caller must then
 * raise the cache epoch (Projector), or those entries keep their previous values.
 *
 * Why write rather than delete: readers fill a miss with a set-if-absent (see SqlReadModels), so
 * a reader that read the old row just before the commit can never overwrite what is written
 * here; with a delete, that reader could put the old value back for the whole TTL.
 */
export async function writeCachedViews(cache: Cache, views: CachedView[]): Promise<void> {
  await Promise.all(views.map((v) => (v.value === undefined ? cache.del(v.key) : cache.set(v.key, v.value, READ_CACHE_TTL_MS))));
}
