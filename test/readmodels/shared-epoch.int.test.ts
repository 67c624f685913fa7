import { expect } from 'chai';
import knexFactory from 'knex';
import { UnavailableError } from '../../src/core/errors';
import { MemoryCache } from '../../src/cache/memory';
import { Projector } from '../../src/projector/projector';
import { bumpCacheEpoch } from '../../src/readmodels/cache-epoch';
import { taskCacheKey } from '../../src/readmodels/cache-keys';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';
import { parseStream } from '../../src/core/envelope';
import { mysqlAvailable, requireService } from '../support/services';
import { appendWorkload, openTestDb, type TestDb } from '../projections/support';

/**
 * The cache epoch is read for every cached read (cache-epoch.ts); reads asked for in the same
 * event-loop turn share one query (sharedRead), and none is answered with an epoch read before
 * it was asked for.
 */
describe('the read cache epoch on the read path (MariaDB)', () => {
  let db: TestDb;
  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await openTestDb('mysql');
  });
  after(async () => {
    await db?.close();
  });

  it('concurrent cached reads cost one epoch query, and a raise committed before a read is asked for is seen by it', async () => {
    const cache = new MemoryCache();
    const events = await appendWorkload(db.store, 2);
    await new Projector({ knex: db.knex, bus: null as never, cache }).applyEvents(events);
    const submitted = events.find((e) => e.type === 'TaskSubmitted')!;
    const id = parseStream(submitted.stream).id;
    const tenant = submitted.tenant;
    const rm = new SqlReadModels({ knex: db.knex, cache });

    let epochQueries = 0;
    const count = (q: { sql: string }) => {
      if (q.sql.includes(CACHE_EPOCH_TABLE)) epochQueries++;
    };
    db.knex.on('query', count);
    try {
      const views = await Promise.all(Array.from({ length: 20 }, () => rm.getTask(tenant, id)));
      expect(views.every((v) => v?.id === id)).to.equal(true);
      expect(epochQueries).to.equal(1);

      // Raised (as a projector's start does) and committed: the next read must not use epoch 0.
      await bumpCacheEpoch(db.knex);
      await cache.del(taskCacheKey(0, id));
      await cache.set(taskCacheKey(0, id), JSON.stringify({ stale: true }));
      const after = await rm.getTask(tenant, id);
      expect(after?.id).to.equal(id);
      expect(await cache.get(taskCacheKey(1, id)), 'filled under the raised epoch').to.be.a('string');
    } finally {
      db.knex.off('query', count);
    }
  });

  it('the database away: every read that shared the failed epoch query is a 503 (DEPENDENCY_UNAVAILABLE), and the next one queries again', async () => {
    const quiet = { warn() {}, error() {}, deprecate() {}, debug() {} };
    // Nothing listens on port 1: each connection attempt is refused (ECONNREFUSED).
    const away = knexFactory({ client: 'mysql2', connection: { host: '127.0.0.1', port: 1, user: 'root' }, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5000, log: quiet });
    try {
      const rm = new SqlReadModels({ knex: away, cache: new MemoryCache() });
      const reads = await Promise.all(Array.from({ length: 5 }, () => rm.getTask('acme', 'T1').then(() => 'answered', (e: unknown) => e)));
      for (const r of reads) {
        expect(r).to.be.instanceOf(UnavailableError);
        expect((r as UnavailableError).code).to.equal('DEPENDENCY_UNAVAILABLE');
      }
      const again = await rm.getTask('acme', 'T1').then(() => 'answered', (e: unknown) => e);
      expect(again).to.be.instanceOf(UnavailableError);
    } finally {
      await away.destroy();
    }
  });
});
