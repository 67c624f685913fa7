import type { Knex } from 'knex';
import { migrateLatest, type MigrateLatestReturnType } from '../../migrations';
import { MemoryCache } from '../cache/memory';
import type { Cache } from '../cache/port';
import type { RedisConnectionEvents } from '../cache/redis';
import type { Config } from '../config';
import { UnavailableError, redactUrl } from '../core/errors';
import { loadOptional } from '../core/load-optional';
import { openKnex } from '../db/knex';
import type { EventStore } from '../eventstore/port';
import { sqlEventStoreOn, type SqlEventStore } from '../eventstore/sql';

export type Stores = {
  /** The SQL database of the read models (and of the event store unless KURRENTDB_URL). */
  knex: Knex;
  store: EventStore;
  /** Set when the event store is the SQL one (it can look events up by id). */
  sqlStore?: SqlEventStore;
  cache: Cache;
  /** What the start's migration did: the migrations it ran, and those of a newer release it found. */
  migrations: MigrateLatestReturnType;
  /** The MySQL database DATABASE_URL names, when it did not exist and this start created it (empty). */
  createdDatabase?: string;
  close(): Promise<void>;
};

/**
 * What a start says when it created the database DATABASE_URL names: expected on a first start,
 * otherwise a typo in the name, which would go on on an empty database with read models, leases
 * and checkpoints of its own (a second relay leader, republishing the log).
 * @example createdDatabaseWarning('openmcp') // 'database openmcp did not exist: created it (empty). …'
 */
export function createdDatabaseWarning(database: string): string {
  return `database ${database} did not exist: created it (empty). On a first start that is expected; otherwise check DATABASE_URL's database name: a process on another database keeps read models, leases and checkpoints of its own (a second relay leader, republishing the log)`;
}

/**
 * The KurrentDB client (gRPC) is loaded only when KURRENTDB_URL chooses it. It connects lazily:
 * one read now, so a server that does not answer fails the start naming where it was looked for
 * (the first read of a role said only "kurrentdb: readAll: unavailable").
 */
async function openKurrent(url: string): Promise<EventStore> {
  const { openKurrentEventStore } = loadOptional('KURRENTDB_URL', () => require('../eventstore/kurrentdb/KurrentEventStore') as typeof import('../eventstore/kurrentdb/KurrentEventStore'));
  const store = await openKurrentEventStore(url);
  try {
    await store.ping();
  } catch (err) {
    await store.close().catch(() => undefined);
    if (!(err instanceof UnavailableError)) throw err;
    throw new UnavailableError('kurrentdb', `cannot connect to ${redactUrl(url)} (KURRENTDB_URL): ${err.message.replace(/^kurrentdb: /, '')}`, err);
  }
  return store;
}

/** ioredis is loaded only with REDIS_URL: without it a process (`openmcp mcp stdio` answering an MCP host) need not wait on it. */
function openRedisCacheLazily(...args: Parameters<typeof import('../cache/redis').openRedisCache>): ReturnType<typeof import('../cache/redis').openRedisCache> {
  return loadOptional('REDIS_URL', () => require('../cache/redis') as typeof import('../cache/redis')).openRedisCache(...args);
}

/**
 * Open the configured database (migrated), event store and cache — the adapters every entry
 * point needs (`openmcp start`, `mcp stdio`, `projections rebuild`). Closes what it opened if a
 * later step fails. `databaseWarn` takes the database driver's warnings (default stderr).
 */
export async function openStores(config: Config, redisEvents?: RedisConnectionEvents, databaseWarn?: (message: string) => void): Promise<Stores> {
  let createdDatabase: string | undefined;
  const knex = await openKnex(config.databaseUrl, {
    createDatabase: true,
    sqliteSynchronous: config.SQLITE_SYNCHRONOUS,
    warn: databaseWarn,
    onCreated: (database) => (createdDatabase = database),
  });
  let store: EventStore | undefined;
  try {
    const migrations = await migrateLatest(knex);
    const sqlStore = config.KURRENTDB_URL ? undefined : sqlEventStoreOn(knex);
    store = sqlStore ?? (await openKurrent(config.KURRENTDB_URL!));
    const cache: Cache = config.REDIS_URL ? await openRedisCacheLazily(config.REDIS_URL, config.REDIS_KEY_PREFIX, redisEvents) : new MemoryCache();
    const opened = store;
    return {
      knex,
      store: opened,
      sqlStore,
      cache,
      migrations,
      createdDatabase,
      async close() {
        await cache.close().catch(() => undefined);
        await opened.close().catch(() => undefined);
        await knex.destroy();
      },
    };
  } catch (err) {
    await store?.close().catch(() => undefined);
    await knex.destroy();
    throw err;
  }
}
