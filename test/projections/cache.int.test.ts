import { expect } from 'chai';
import Redis from 'ioredis';
import { MemoryCache } from '../../src/cache/memory';
import { RedisCache } from '../../src/cache/redis';
import type { Cache } from '../../src/cache/port';
import { Projector } from '../../src/projector/projector';
import { taskCacheKey as keyOfTask, toolCatalogCacheKey as keyOfCatalog } from '../../src/readmodels/cache-keys';
import { readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { LIVE_TABLES } from '../../projections/tables';
import { loadTaskViews } from '../../src/readmodels/task-views';
import { loadToolCatalog } from '../../src/readmodels/tool-catalog';
import { parseStream } from '../../src/core/envelope';
import { mysqlAvailable, redisAvailable, redisTestPrefix, REDIS_TEST_URL, requireService } from '../support/services';
import { appendWorkload, openTestDb, type TestDb } from './support';

const setups: Array<{ name: string; dialect: 'sqlite' | 'mysql'; cache: 'redis' | 'memory' }> = [
  { name: 'MariaDB + Redis', dialect: 'mysql', cache: 'redis' },
  { name: 'SQLite + in-memory cache', dialect: 'sqlite', cache: 'memory' },
];

for (const s of setups) {
  describe(`read caches (${s.name})`, function () {
    let db: TestDb;
    let cache: Cache;
    let drop = async () => {};
    before(async function () {
      if (s.dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      if (s.cache === 'redis') await requireService(this, 'Redis', redisAvailable);
    });
    beforeEach(async () => {
      db = await openTestDb(s.dialect);
      if (s.cache === 'redis') {
        const p = redisTestPrefix('omc_rm');
        cache = new RedisCache(new Redis(REDIS_TEST_URL), p.prefix);
        drop = p.drop;
      } else cache = new MemoryCache();
    });
    afterEach(async () => {
      await cache?.close();
      await drop();
      await db?.close();
    });

    // Keys of the current cache epoch (it stays 0 here: no refresh fails).
    const taskCacheKey = (id: string) => keyOfTask(0, id);
    const toolCatalogCacheKey = (tenant: string) => keyOfCatalog(0, tenant);

    it('the cache equals the database after every applied event', async () => {
      expect(await readCacheEpoch(db.knex)).to.equal(0);
      const events = await appendWorkload(db.store, 8);
      const projector = new Projector({ knex: db.knex, bus: null as never, cache });
      const rm = new SqlReadModels({ knex: db.knex, cache });
      const tasksSeen = new Set<string>();
      for (const e of events) {
        await projector.applyEvents([e]);
        const data = e.data as { taskId?: string };
        if (e.stream.startsWith('task-')) tasksSeen.add(parseStream(e.stream).id);
        if (data.taskId) tasksSeen.add(data.taskId);
        // Every task seen so far: what a reader gets (through the cache) equals the database.
        const fromDb = await loadTaskViews(db.knex, LIVE_TABLES, [...tasksSeen]);
        for (const id of tasksSeen) {
          const cached = await cache.get(taskCacheKey(id));
          expect(cached, `task ${id} cached after position ${e.position}`).to.be.a('string');
          expect(JSON.parse(cached!)).to.deep.equal(JSON.parse(JSON.stringify(fromDb.get(id))));
          expect(await rm.getTask(fromDb.get(id)!.tenant, id)).to.deep.equal(JSON.parse(cached!));
        }
        for (const tenant of ['acme', '*']) {
          const cached = await cache.get(toolCatalogCacheKey(tenant));
          if (cached !== undefined) expect(JSON.parse(cached)).to.deep.equal(await loadToolCatalog(db.knex, LIVE_TABLES, tenant));
        }
      }
    });

    it('a read that raced the projector cannot put an older view back', async () => {
      const events = await appendWorkload(db.store, 1);
      const taskId = parseStream(events.find((e) => e.type === 'TaskSubmitted')!.stream).id;
      const projector = new Projector({ knex: db.knex, bus: null as never, cache });
      const submittedAt = events.findIndex((e) => e.type === 'TaskSubmitted');
      await projector.applyEvents(events.slice(0, submittedAt + 1));
      const stale = JSON.stringify({ ...(await loadTaskViews(db.knex, LIVE_TABLES, [taskId])).get(taskId), status: 'submitted' });
      await projector.applyEvents(events.slice(submittedAt + 1));
      // The reader's late fill is set-if-absent: it loses to what the projector wrote.
      expect(await cache.acquireLock(taskCacheKey(taskId), stale, 60_000)).to.equal(false);
      const rm = new SqlReadModels({ knex: db.knex, cache });
      expect((await rm.getTask('globex', taskId))!.status).to.equal('completed');
      expect(await rm.getTask('acme', taskId), 'another tenant').to.equal(undefined);
    });
  });
}
