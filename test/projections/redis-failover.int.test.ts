import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisCache } from '../../src/cache/redis';
import { InProcessBus } from '../../src/bus/inprocess';
import { SqlCheckpointStore } from '../../src/checkpoints/sql-checkpoint-store';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { taskCacheKey } from '../../src/readmodels/cache-keys';
import { mysqlAvailable, redisAvailable, redisTestPrefix, REDIS_TEST_URL, requireService, uniqueName } from '../support/services';
import { openTestDb, type TestDb, eventually } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/**
 * Redis may lose writes it acknowledged: a failover to a replica they had not reached, a restart
 * with AOF `everysec`. Sentinel then closes the clients' connections (CLIENT KILL TYPE normal) and
 * they reconnect to a server holding older values. A view the projector rewrote just before is
 * then back to the one before it, and readers (who fill only misses) would serve it for the
 * read cache's TTL of an hour. Here the projector's connection is killed on the real Redis after
 * its cached view was set back to the older one by another client, as the promoted replica holds it.
 */
for (const dialect of ['sqlite', 'mysql'] as const) {
  describe(`projections after Redis lost acknowledged writes (${dialect === 'mysql' ? 'MariaDB' : 'SQLite'})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let bus: InProcessBus;
    let projector: Projector;
    let projectorRedis: Redis;
    let readerRedis: Redis;
    let direct: Redis;
    const prefix = redisTestPrefix('omc_proj_rlost');
    const name = uniqueName('omc_projector');
    const errors: unknown[] = [];

    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      await requireService(this, 'Redis', redisAvailable);
    });
    beforeEach(async () => {
      errors.length = 0;
      db = await openTestDb(dialect);
      projectorRedis = new Redis(REDIS_TEST_URL, { connectionName: name, maxRetriesPerRequest: 2 });
      readerRedis = new Redis(REDIS_TEST_URL);
      direct = new Redis(REDIS_TEST_URL);
      bus = new InProcessBus(db.store, new SqlCheckpointStore(db.knex), { onError: (err) => errors.push(err) });
      projector = new Projector({ knex: db.knex, bus, cache: new RedisCache(projectorRedis, prefix.prefix), onError: (err) => errors.push(err) });
      await projector.start();
    });
    afterEach(async () => {
      await projector?.stop();
      await bus?.close();
      projectorRedis?.disconnect();
      readerRedis?.disconnect();
      direct?.disconnect();
      await prefix.drop();
      await db?.close();
    });

    it('retires the views Redis may have lost once the projector is reconnected, without waiting for a next batch', async () => {
      const api = new SqlReadModels({ knex: db.knex, cache: new RedisCache(readerRedis, prefix.prefix) });
      const stream = `task-${newId()}`;
      const id = stream.slice(5);
      const append = async (type: string, data: Record<string, unknown> = {}) =>
        (await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data })])).events as RecordedEvent[];
      await append('TaskSubmitted', { instruction: 'x' });
      await append('TaskStarted');
      await eventually('cached as running', async () => (await api.getTask('acme', id))?.status, (s) => s === 'running');
      const epoch = await readCacheEpoch(db.knex);
      const key = prefix.prefix + taskCacheKey(epoch, id);
      const running = (await direct.get(key))!;

      const [completed] = await append('TaskCompleted', { output: 1 });
      await eventually('the batch applied', async () => projector.applied.highest, (p) => p >= completed.position);
      expect(JSON.parse((await direct.get(key))!).status, 'the refresh Redis acknowledged').to.equal('completed');

      // The failover: the server the projector reconnects to holds the view before that refresh.
      await direct.set(key, running, 'PX', 3_600_000);
      const clients = String(await direct.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${name} `));
      expect(clients, 'the projector connection').to.have.length(1);
      const reconnected = new Promise<void>((r) => projectorRedis.once('ready', () => r()));
      await direct.call('CLIENT', 'KILL', 'ID', clients[0].match(/\bid=(\d+)/)![1]);
      await reconnected;

      // No event follows: the quiet projector must retire the lost-and-older view all the same.
      expect((await eventually('a read after the reconnect', async () => (await api.getTask('acme', id))?.status, (s) => s === 'completed'))).to.equal('completed');
      expect(await readCacheEpoch(db.knex)).to.be.greaterThan(epoch);
      expect(errors.map(String), 'batches failed').to.deep.equal([]);
    });
  });
}
