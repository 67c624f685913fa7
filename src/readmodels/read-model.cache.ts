import type { Knex } from 'knex';
import type { Cache } from '../cache/port';
import type { Touched } from '../../projections/projection';
import { READ_CACHE_TTL_MS, taskCacheKey, toolCatalogCacheKey } from './cache-keys';
import type { ReadModelTables } from '../../projections/tables';
import { loadTaskViews } from './task-views';
import { loadToolCatalog } from './tool-catalog';

/**
 * The cache applier: after a batch's transaction has committed, write the new value of every
 * cached read it touched (a task by id, a tenant's tool catalog).
 *
 * Why write rather than delete: readers fill a miss with a set-if-absent (see SqlReadModels), so
 * a reader that read the old row just before the commit can never overwrite what is written
 * here; with a delete, that reader could put the old value back for the whole TTL.
 */
export async function refreshCaches(db: Knex, cache: Cache, t: ReadModelTables, touched: Touched): Promise<void> {
  const writes: Promise<void>[] = [];
  if (touched.taskIds.size) {
    const ids = [...touched.taskIds];
    const views = await loadTaskViews(db, t, ids);
    for (const id of ids) {
      const v = views.get(id);
      writes.push(v ? cache.set(taskCacheKey(id), JSON.stringify(v), READ_CACHE_TTL_MS) : cache.del(taskCacheKey(id)));
    }
  }
  for (const tenant of touched.catalogTenants) {
    const tools = await loadToolCatalog(db, t, tenant);
    writes.push(cache.set(toolCatalogCacheKey(tenant), JSON.stringify(tools), READ_CACHE_TTL_MS));
  }
  await Promise.all(writes);
}
