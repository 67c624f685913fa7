import type { Config } from '../config';
import { openKnex } from '../db/knex';
import { migrateLatest } from '../../migrations';
import { openKurrentEventStore } from '../eventstore/kurrentdb';
import { sqlEventStoreOn } from '../eventstore/sql';
import { openRedisCache } from '../cache/redis';
import { rebuildProjection } from './projections';

/** `openmcp projections rebuild <name>` against the configured database and event store. */
export async function runRebuild(config: Config, name: string): Promise<void> {
  const knex = await openKnex(config.databaseUrl, { createDatabase: true });
  try {
    await migrateLatest(knex);
    const store = config.KURRENTDB_URL ? await openKurrentEventStore(config.KURRENTDB_URL) : sqlEventStoreOn(knex);
    // With the in-memory cache the running server refreshes its own cache; with Redis we do it here.
    const cache = config.REDIS_URL ? await openRedisCache(config.REDIS_URL, config.REDIS_KEY_PREFIX) : undefined;
    try {
      const r = await rebuildProjection({ knex, store, cache, log: (m) => console.log(m) }, name);
      console.log(`rebuilt ${r.projection} from ${r.events} events in ${r.ms} ms (tables: ${r.tables.join(', ')})`);
    } finally {
      await cache?.close();
      await store.close();
    }
  } finally {
    await knex.destroy();
  }
}
