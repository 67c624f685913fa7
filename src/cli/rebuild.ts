import { openStores } from '../app/open-stores';
import type { Config } from '../config';
import { rebuildProjection } from './projections';
import { appliersFor } from '../projector/appliers-for';

/**
 * `openmcp projections rebuild <name>` against the configured database and event store.
 * With Redis the caches are refreshed here; with the in-memory cache only a running server
 * can refresh its own (it does so as its projector applies new events).
 */
export async function runRebuild(config: Config, name: string): Promise<void> {
  const stores = await openStores(config);
  try {
    const cache = config.REDIS_URL ? stores.cache : undefined;
    const r = await rebuildProjection({ knex: stores.knex, store: stores.store, cache, appliers: appliersFor(stores.store), log: (m) => console.log(m) }, name);
    console.log(`rebuilt ${r.projection} from ${r.events} events in ${r.ms} ms (tables: ${r.tables.join(', ')})`);
    // The in-memory cache lives in each server process, out of reach from here (docs/architecture.md).
    if (!cache) console.log('no REDIS_URL: a running server keeps serving the tasks it had cached as they were before the rebuild until they change; restart it to drop them');
  } finally {
    await stores.close();
  }
}
