import { createdDatabaseWarning, openStores } from '../app/open-stores';
import type { Config } from '../config';
import { OpenMcpError } from '../core/errors';
import { rebuildProjection } from './projections';
import { appliersFor } from '../projector/appliers-for';
import { projectionSchemas } from '../readmodels/schema';
import { UsageError } from './usage-error';

/**
 * `openmcp projections rebuild <name>` against the configured database and event store. The
 * caches need nothing from here: the rebuild raises the cache epoch in the database, which every
 * server reads, so none serves a view cached before the swap (Redis or in-memory alike).
 */
export async function runRebuild(config: Config, name: string): Promise<void> {
  // Before the database is opened (or created): a name no read model has is a command line it cannot run.
  if (!Object.hasOwn(projectionSchemas, name)) throw new UsageError(`projection ${JSON.stringify(name)} is unknown; one of: ${Object.keys(projectionSchemas).join(', ')}`, { field: 'name' });
  const stores = await openStores(config);
  try {
    // A rebuild is never a first start: a database it had to create is a typo in DATABASE_URL.
    if (stores.createdDatabase) console.error(createdDatabaseWarning(stores.createdDatabase));
    // The fresh tables are made by this release's schema: swapped in on a database a newer release
    // migrated, they would lack that release's columns and indexes, whose migrations stay recorded
    // as done, so no later start adds them back (its projectors then fail on the missing column).
    const newer = stores.migrations.newer;
    if (newer.length) {
      throw new OpenMcpError(
        'SCHEMA_FROM_NEWER_RELEASE',
        `the database has migrations of a newer release (${newer.join(', ')}): a rebuild by this release would swap in tables without what they added, and nothing would add it back; rebuild it with that release, or, rolled back for good, forget those migrations first (docs/operations.md, "Upgrading without downtime"); nothing was rebuilt`,
        { status: 409, details: { migrations: newer } },
      );
    }
    const r = await rebuildProjection({ knex: stores.knex, store: stores.store, appliers: appliersFor(stores.store), log: (m) => console.log(m) }, name);
    console.log(`rebuilt ${r.projection} from ${r.events} events in ${r.ms} ms (tables: ${r.tables.join(', ')})`);
  } finally {
    await stores.close();
  }
}
