import { expect } from 'chai';
import Redis from 'ioredis';
import { openRedisCache, RedisCache } from '../../src/cache/redis';
import { InProcessBus } from '../../src/bus/inprocess';
import { SqlCheckpointStore } from '../../src/checkpoints/sql-checkpoint-store';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Projector } from '../../src/projector/projector';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { loadTaskViews } from '../../src/readmodels/task-views';
import { readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { taskCacheKey } from '../../src/readmodels/cache-keys';
import { LIVE_TABLES } from '../../projections/tables';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { mysqlAvailable, redisAvailable, redisTestPrefix, REDIS_TEST_URL, requireService } from '../support/services';
import { openTestDb, type TestDb, eventually } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The cache is left alone this long after a failure here (CACHE_SKIP_MS, 5 s, in production): the test waits past it. */
const SKIP_MS = 500;
/** A command to the hung Redis fails after this long (REDIS_COMMAND_TIMEOUT_MS, 2 s, in production): the hung cases wait it out. */
const COMMAND_TIMEOUT_MS = 600;


/**
 * Redis is a cache (docs/operations.md): an outage must neither stop the projections (the REST
 * reads fall back to SQL, so the read models must stay current) nor leave a cached view behind
 * that is served once Redis answers again, by any process. Redis is reached through proxies whose
 * links the tests cut, so the shared server keeps running; the projector runs on the in-process
 * bus, as in the embedded default and in split-role deployments without Kafka.
 */
for (const dialect of ['sqlite', 'mysql'] as const) {
  describe(`projections while Redis is unreachable (${dialect === 'mysql' ? 'MariaDB' : 'SQLite'})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let proxy: CutProxy;
    let projectorCache: RedisCache;
    let bus: InProcessBus;
    let projector: Projector;
    let direct: Redis;
    const prefix = redisTestPrefix('omc_proj_rdown');
    const errors: unknown[] = [];
    const readerCaches: RedisCache[] = [];
    /** A reader's own Redis client, reaching Redis through the cut link. */
    const viaProxy = async () => {
      const c = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix, { commandTimeoutMs: COMMAND_TIMEOUT_MS });
      readerCaches.push(c);
      return c;
    };

    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      await requireService(this, 'Redis', redisAvailable);
    });
    beforeEach(async () => {
      errors.length = 0;
      db = await openTestDb(dialect);
      const target = new URL(REDIS_TEST_URL);
      proxy = await cutProxy(target.hostname, Number(target.port || 6379));
      projectorCache = await openRedisCache(`redis://127.0.0.1:${proxy.port}`, prefix.prefix, { commandTimeoutMs: COMMAND_TIMEOUT_MS });
      direct = new Redis(REDIS_TEST_URL);
      bus = new InProcessBus(db.store, new SqlCheckpointStore(db.knex), { onError: (err) => errors.push(err) });
      projector = new Projector({ knex: db.knex, bus, cache: projectorCache, cacheSkipMs: SKIP_MS, onError: (err) => errors.push(err) });
      await projector.start();
    });
    afterEach(async () => {
      await proxy?.up();
      for (const c of readerCaches.splice(0)) await c.close();
      await projector?.stop();
      await bus?.close();
      await projectorCache?.close();
      direct?.disconnect();
      await proxy?.close();
      await prefix.drop();
      await db?.close();
    });

    const newTask = () => {
      const stream = `task-${newId()}`;
      const append = async (type: string, data: Record<string, unknown> = {}) =>
        (await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data })])).events as RecordedEvent[];
      return { id: stream.slice(5), append };
    };
    const sqlStatus = async (id: string) => (await loadTaskViews(db.knex, LIVE_TABLES, [id])).get(id)?.status;

    /** A task projected and cached as "running" while Redis answers. */
    async function cachedRunningTask(readers: SqlReadModels[]) {
      const task = newTask();
      await task.append('TaskSubmitted', { instruction: 'x' });
      await task.append('TaskStarted');
      await eventually('projected', () => sqlStatus(task.id), (s) => s === 'running');
      for (const rm of readers) await eventually('cached', async () => (await rm.getTask('acme', task.id))?.status, (s) => s === 'running');
      return task;
    }

    for (const outage of ['down', 'hung'] as const) {
      it(`keeps the read models current while Redis is ${outage}, and no process serves the view cached before the outage once it is back`, async () => {
        // The API process reaches Redis through the same cut link as the projector; a second
        // API replica through its own connection, which it gets back at the same time.
        const api = new SqlReadModels({ knex: db.knex, cache: await viaProxy(), cacheSkipMs: SKIP_MS });
        const replica = new SqlReadModels({ knex: db.knex, cache: await viaProxy(), cacheSkipMs: SKIP_MS });
        const task = await cachedRunningTask([api, replica]);

        if (outage === 'down') await proxy.down();
        else proxy.freeze();
        await task.append('TaskCompleted', { output: 1 });
        await eventually('the read model during the outage', () => sqlStatus(task.id), (s) => s === 'completed');
        // The projection goes on, batch after batch (it used to commit the first batch, fail to
        // refresh the cache, and retry that batch until Redis was back): the read models, and the
        // REST reads from them, show every change.
        const later = newTask();
        await later.append('TaskSubmitted', { instruction: 'y' });
        await eventually('a later batch during the outage', () => sqlStatus(later.id), (s) => s === 'submitted');
        expect((await api.getTask('acme', task.id))?.status, 'a read during the outage').to.equal('completed');
        // That read opened the reader's skip window: within it neither Redis nor the epoch is read.
        let epochReads = 0;
        const count = (q: { sql: string }) => void (q.sql.includes(CACHE_EPOCH_TABLE) && epochReads++);
        db.knex.on('query', count);
        await api.getTask('acme', task.id);
        db.knex.removeListener('query', count);
        expect(epochReads, 'epoch reads while the cache is left alone').to.equal(0);
        expect((await api.getTask('acme', later.id))?.status, 'a task submitted during the outage').to.equal('submitted');
        expect(errors.map(String), 'batches failed').to.deep.equal([]);

        // (When Redis hung, ioredis sends the refresh that timed out again once it reconnects, so
        // the view cached before the outage may be overwritten late; when it was down, nothing is.)
        await proxy.up();
        // Past every reader's bypass window: they read through Redis again.
        await sleep(SKIP_MS + 200);
        expect((await api.getTask('acme', task.id))?.status, 'the API after the outage').to.equal('completed');
        expect((await replica.getTask('acme', task.id))?.status, 'a replica after the outage').to.equal('completed');
        // And the cache is in use again, under a newer epoch than the view cached before the outage.
        const epoch = await readCacheEpoch(db.knex);
        expect(epoch).to.be.greaterThan(0);
        expect(JSON.parse((await direct.get(prefix.prefix + taskCacheKey(epoch, task.id)))!).status).to.equal('completed');
      });
    }

    for (const outage of ['down', 'hung'] as const) {
      it(`never serves the old view from a replica that still reaches Redis while the projector's Redis is ${outage}`, async () => {
        const replica = new SqlReadModels({ knex: db.knex, cache: new RedisCache(direct, prefix.prefix), cacheSkipMs: SKIP_MS });
        const task = await cachedRunningTask([replica]);
        if (outage === 'down') await proxy.down();
        else proxy.freeze();
        const [completed] = await task.append('TaskCompleted', { output: 1 });
        // Once the projector is done with the batch: between its commit and its failed cache write
        // (at most the Redis command timeout) a reader elsewhere may still get the previous view,
        // as it may for the moment a successful refresh takes (docs/architecture.md).
        await eventually('the batch applied during the outage', async () => projector.applied.highest, (p) => p >= completed.position);
        expect(await sqlStatus(task.id)).to.equal('completed');
        expect((await replica.getTask('acme', task.id))?.status, 'a replica with its own link to Redis').to.equal('completed');
        await proxy.up();
        expect((await replica.getTask('acme', task.id))?.status, 'after the link is back').to.equal('completed');
      });
    }
  });
}
