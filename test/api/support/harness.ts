import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Knex } from 'knex';
import { catalog } from '../../../events';
import { migrateLatest } from '../../../migrations';
import { buildApp } from '../../../src/api/build-app';
import type { AppDeps } from '../../../src/api/deps';
import { createLogger } from '../../../src/api/logger';
import { generateApiKey } from '../../../src/auth/api-key';
import { SqlKeyStore } from '../../../src/auth/sql-key-store';
import type { Role } from '../../../src/auth/roles';
import { MemoryCache } from '../../../src/cache/memory';
import { newId } from '../../../src/core/ids';
import { openKnex } from '../../../src/db/knex';
import { sqlEventStoreOn } from '../../../src/eventstore/sql';
import type { EventStore } from '../../../src/eventstore/port';
import { createMetrics } from '../../../src/metrics/metrics';
import { FakeGateway, FakeProofs } from './fakes';
import { InProcessBus } from '../../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../../src/checkpoints/memory-checkpoint-store';
import { Projector } from '../../../src/projector/projector';
import { SqlReadModels } from '../../../src/readmodels/sql-read-models';

export type Harness = {
  app: FastifyInstance;
  deps: AppDeps;
  knex: Knex;
  store: EventStore;
  keys: SqlKeyStore;
  proofs: FakeProofs;
  gateway: FakeGateway;
  logs: string[];
  /** Issue a key directly in the store (no event): returns the bearer header value. `agents`: the agent ids it may act as. */
  key(role: Role, tenant: string, crossTenant?: boolean, agents?: string[]): Promise<{ auth: string; id: string; key: string }>;
  call(o: InjectOptions & { auth?: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
};

/**
 * A real app on a real SQLite event store (in memory), SQL read models kept by the real projector,
 * and the SQL key store; the proofs service (not yet in the repo) is a small in-test fake. Logs are captured for the log-scan test.
 */
export async function makeHarness(over: Partial<AppDeps> = {}, options: { cacheSkipMs?: number; databaseUrl?: string } = {}): Promise<Harness> {
  // `options.databaseUrl`: the same app on another database (a MariaDB test database, maybe behind a cut-proxy).
  const knex = await openKnex(options.databaseUrl ?? 'sqlite::memory:');
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex, { pollIntervalMs: 10 });
  // The real read side: projections fed by the in-process bus, queried through SqlReadModels.
  // `over.cache` (e.g. Redis) serves the projector, the read models and the rate limits alike.
  const cache = over.cache ?? new MemoryCache();
  // `options.cacheSkipMs`: how long both leave the cache alone after a failure (CACHE_SKIP_MS, 5 s, by default).
  const projector = new Projector({ knex, bus: new InProcessBus(store, new MemoryCheckpointStore()), cache, cacheSkipMs: options.cacheSkipMs });
  await projector.start();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  // As src/main.ts wires it: the warning names the request that met the outage.
  const onCacheError = (err: unknown) => logger.warn({ err }, 'read cache unreachable: answering from SQL for now');
  const readModels = new SqlReadModels({ knex, cache, applied: projector.applied, cacheSkipMs: options.cacheSkipMs, onCacheError });
  const keys = new SqlKeyStore(knex);
  const proofs = new FakeProofs(store);
  const gateway = new FakeGateway();
  const deps: AppDeps = {
    store,
    catalog,
    readModels,
    cache,
    keys,
    rateLimit: { perKeyPerMinute: 100_000, perTenantPerMinute: 100_000 },
    metrics: createMetrics(),
    proofs,
    gateway,
    readiness: [{ name: 'eventstore', check: async () => (await store.ping(), { state: 'up' as const }) }],
    logger,
    ...over,
  };
  const app = await buildApp(deps);
  return {
    app,
    deps,
    knex,
    store,
    keys,
    proofs,
    gateway,
    logs,
    async key(role, tenant, crossTenant = false, agents) {
      const g = generateApiKey();
      const id = newId();
      await keys.insert({ id, tenant, role, crossTenant, ...(agents ? { agents } : {}), prefix: g.prefix, hash: g.hash, createdAt: new Date().toISOString(), createdBy: 'test' });
      return { auth: `Bearer ${g.key}`, id, key: g.key };
    },
    call({ auth, headers, ...o }) {
      return app.inject({ ...o, headers: { ...(auth ? { authorization: auth } : {}), ...headers } });
    },
    async close() {
      await app.close();
      await projector.stop();
      await store.close();
      await knex.destroy();
    },
  };
}

export function problemOf(res: { headers: Record<string, unknown>; json(): any; statusCode: number }) {
  return { ct: String(res.headers['content-type']), body: res.json(), status: res.statusCode };
}
