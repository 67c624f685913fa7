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
import { mysqlAvailable, requireService } from '../support/services';
import { redisServerInstalled, startRedisServer, type RedisServerProcess } from '../support/redis-server-process';
import { backupDatabase, eventually, mariadbDumpInstalled, openTestDb, type TestDb } from './support';

const PREFIX = 'omc:';

/**
 * The read cache can end up older than the read models while no projector watches it: Redis
 * restarted from an older RDB snapshot (or AOF `everysec` losing its last second, a failover)
 * while the projectors were stopped, or the database restored from a backup while Redis kept the
 * views of the lost timeline. No connection of a running projector comes back then, so nothing
 * raised the cache epoch, and readers (who fill only missing entries) served those views for the
 * hour of their TTL. A projector that starts must retire them, before it serves. Each case runs a
 * redis-server of its own, really restarted; every reader is a process of its own (its own client).
 */
describe('a projector starting after the read cache was left behind the read models', function () {
  this.timeout(60_000);
  let server: RedisServerProcess;
  const clients: Redis[] = [];
  const errors: unknown[] = [];
  const client = () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 2 });
    c.on('error', () => undefined); // while the server restarts
    clients.push(c);
    return c;
  };
  /** What an API process gets for the task, and whether it came through Redis (the entry of the current epoch holds it afterwards). */
  const read = async (db: TestDb, id: string) => {
    const c = client();
    await c.ping();
    const status = (await new SqlReadModels({ knex: db.knex, cache: new RedisCache(c, PREFIX) }).getTask('acme', id))?.status;
    const cached = await c.get(PREFIX + taskCacheKey(await readCacheEpoch(db.knex), id));
    return { status, cached: cached ? (JSON.parse(cached) as { status: string }).status : undefined };
  };
  const startProjector = async (db: TestDb) => {
    const bus = new InProcessBus(db.store, new SqlCheckpointStore(db.knex), { onError: (err) => errors.push(err) });
    const projector = new Projector({ knex: db.knex, bus, cache: new RedisCache(client(), PREFIX), onError: (err) => errors.push(err) });
    await projector.start();
    return {
      projector,
      async stop() {
        await projector.stop();
        await bus.close();
      },
    };
  };
  const taskOf = (db: TestDb) => {
    const stream = `task-${newId()}`;
    return {
      id: stream.slice(5),
      append: async (type: string, data: Record<string, unknown> = {}) =>
        (await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data })])).events as RecordedEvent[],
    };
  };

  before(async function () {
    await requireService(this, 'redis-server', redisServerInstalled);
    server = await startRedisServer();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    errors.length = 0;
  });
  after(async () => {
    await server?.stop();
  });

  for (const dialect of ['sqlite', 'mysql'] as const) {
    describe(dialect === 'mysql' ? 'MariaDB' : 'SQLite', () => {
      let db: TestDb;
      before(async function () {
        if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      });
      beforeEach(async () => {
        db = await openTestDb(dialect);
      });
      afterEach(async () => {
        await db?.close();
      });

      it('retires the views Redis brought back from an older snapshot while no projector ran', async () => {
        const task = taskOf(db);
        const first = await startProjector(db);
        await task.append('TaskSubmitted', { instruction: 'x' });
        await task.append('TaskStarted');
        await eventually('cached as running', async () => (await read(db, task.id)).cached, (s) => s === 'running');
        await server.snapshot();
        const [completed] = await task.append('TaskCompleted', { output: 1 });
        await eventually('the batch applied', async () => first.projector.applied.highest, (p) => p >= completed.position);
        expect((await read(db, task.id)).cached, 'the refresh Redis acknowledged').to.equal('completed');
        await first.stop();

        // Every projector stopped (a deploy, the host down), Redis restarts from its last snapshot.
        await server.restartFromSnapshot();
        expect((await read(db, task.id)).cached, 'the view Redis brought back').to.equal('running');

        const second = await startProjector(db);
        // No event follows: what the projector started on must already be served right.
        expect(await read(db, task.id)).to.deep.equal({ status: 'completed', cached: 'completed' });
        await second.stop();
        expect(errors.map(String)).to.deep.equal([]);
      });

      if (dialect === 'mysql') {
        it('raises the epoch under the projections write lock, on the connection holding it', async () => {
          // A rebuild reads the live epoch under that lock and swaps in one above it (stageCacheEpoch):
          // a raise outside it could land on the epoch table being swapped out, and be lost.
          const holding = new Set<unknown>();
          const raises: boolean[] = [];
          const watch = (q: { sql: string; __knexUid?: unknown }) => {
            if (/GET_LOCK/i.test(q.sql)) holding.add(q.__knexUid);
            if (/RELEASE_LOCK/i.test(q.sql)) holding.delete(q.__knexUid);
            if (/^update `rm_cache_epoch`/i.test(q.sql)) raises.push(holding.has(q.__knexUid));
          };
          db.knex.on('query', watch);
          try {
            const before = await readCacheEpoch(db.knex);
            const started = await startProjector(db);
            expect(await readCacheEpoch(db.knex)).to.be.greaterThan(before);
            await started.stop();
          } finally {
            db.knex.removeListener('query', watch);
          }
          expect(raises).to.deep.equal([true]);
        });
      }

      it('repairs the views a projector that died between its commit and its refresh left behind', async () => {
        const task = taskOf(db);
        // The dying projector: once armed, its commits land and its refreshes never reach Redis.
        let armed = false;
        let entered!: () => void;
        const refreshing = new Promise<void>((r) => (entered = r));
        let revive!: () => void;
        const dead = new Promise<void>((r) => (revive = r));
        const stalled = new Proxy(new RedisCache(client(), PREFIX), {
          get: (target, prop, receiver) =>
            prop === 'set' && armed ? async (...a: Parameters<RedisCache['set']>) => (entered(), await dead, target.set(...a)) : Reflect.get(target, prop, receiver),
        });
        const dyingBus = new InProcessBus(db.store, new SqlCheckpointStore(db.knex));
        const dying = new Projector({ knex: db.knex, bus: dyingBus, cache: stalled });
        await dying.start();
        try {
          await task.append('TaskSubmitted', { instruction: 'x' });
          await task.append('TaskStarted');
          await eventually('cached as running', async () => (await read(db, task.id)).cached, (s) => s === 'running');
          armed = true;
          await task.append('TaskCompleted', { output: 1 });
          await refreshing;
          expect((await db.knex('rm_tasks').where('id', task.id).first('status')).status, 'committed').to.equal('completed');
          // Its death drops the write lock with its connection (MariaDB).
          if (dialect === 'mysql') {
            const [[{ holder }]] = await db.knex.raw('SELECT IS_USED_LOCK(CONCAT(?, DATABASE())) AS holder', ['openmcp:projections:']);
            await db.knex.raw(`KILL ${Number(holder)}`);
          }
          expect((await read(db, task.id)).cached, 'the view left behind').to.equal('running');

          const second = await startProjector(db);
          // Its redelivery (at least once) rewrites the view too, but only once the feed gets
          // there: no read after the start may get the view left behind meanwhile.
          expect(await read(db, task.id)).to.deep.equal({ status: 'completed', cached: 'completed' });
          await second.stop();
        } finally {
          revive();
          await dying.stop().catch(() => undefined);
          await dyingBus.close();
        }
      });
    });
  }

  describe('MariaDB restored from a backup', () => {
    let db: TestDb;
    before(async function () {
      await requireService(this, 'MariaDB', mysqlAvailable);
      await requireService(this, 'mariadb-dump', mariadbDumpInstalled);
    });
    beforeEach(async () => {
      db = await openTestDb('mysql');
    });
    afterEach(async () => {
      await db?.close();
    });

    it('never serves a view Redis kept from the timeline the restore undid', async () => {
      const task = taskOf(db);
      const first = await startProjector(db);
      await task.append('TaskSubmitted', { instruction: 'x' });
      await task.append('TaskStarted');
      await eventually('cached as running', async () => (await read(db, task.id)).cached, (s) => s === 'running');
      await first.stop();
      const backup = await backupDatabase(db.knex);
      try {
        // After the backup: a restart (as a deploy does), and the task completes.
        const second = await startProjector(db);
        const [completed] = await task.append('TaskCompleted', { output: 1 });
        await eventually('the batch applied', async () => second.projector.applied.highest, (p) => p >= completed.position);
        expect((await read(db, task.id)).cached).to.equal('completed');
        await second.stop();

        // The database (log, read models, checkpoints, cache epoch) goes back to the backup; Redis keeps its views.
        await backup.restore();
        const third = await startProjector(db);
        // The restored log has the task running: the completed view is of events that no longer exist.
        expect(await read(db, task.id)).to.deep.equal({ status: 'running', cached: 'running' });
        await third.stop();
      } finally {
        await backup.drop();
      }
      expect(errors.map(String)).to.deep.equal([]);
    });
  });
});
