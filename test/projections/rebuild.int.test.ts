import { expect } from 'chai';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { MemoryCache } from '../../src/cache/memory';
import { rebuildProjection } from '../../src/cli/projections';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { taskCacheKey } from '../../src/readmodels/cache-keys';
import { OpenMcpError } from '../../src/core/errors';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { mysqlAvailable, requireService } from '../support/services';
import { appendWorkload, openTestDb, snapshot, type Dialect, type TestDb } from './support';

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`rebuildProjection on ${dialect}`, function () {
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

    it("agrees with a stream's replay (gap repair): every stream applied out of order, then each replayed, makes the rows a rebuild of every projection makes", async () => {
      const events = await appendWorkload(db.store, 8);
      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()) });
      try {
        // Delivered last event first: every stream's later events applied before its earlier ones.
        await projector.applyEvents([...events].reverse());
        for (const stream of new Set(events.map((e) => e.stream))) expect(await projector.replayStream(await db.store.readStream(stream)), stream).to.equal(true);
      } finally {
        await projector.stop();
      }
      const replayed = await snapshot(db.knex);
      for (const name of ['tasks', 'task-steps', 'tool-calls', 'mcp-servers']) await rebuildProjection({ knex: db.knex, store: db.store }, name);
      expect(replayed).to.deep.equal(await snapshot(db.knex));
    });

    it('swaps fresh tables in while reads are served and the live projector keeps applying', async () => {
      await appendWorkload(db.store, 20);
      const cache = new MemoryCache();
      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore(), { maxBatch: 5 }), cache });
      await projector.start();
      const rm = new SqlReadModels({ knex: db.knex, cache, applied: projector.applied });
      expect(await rm.waitForPosition(await db.store.headPosition(), 15_000)).to.equal(true);
      const done = (await rm.listTasks('acme', { limit: 1, status: 'completed' })).items[0];
      // A projection bug to repair: the rebuild must bring back the true statuses.
      await db.knex('rm_tasks').update({ status: 'cancelled' });
      // A view cached from the broken tables (its entry was filled from them).
      await cache.del(taskCacheKey(await readCacheEpoch(db.knex), done.id));
      expect((await rm.getTask('acme', done.id))!.status).to.equal('cancelled');

      let reads = 0;
      const readErrors: unknown[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) {
          try {
            const page = await rm.listTasks('acme', { limit: 50 });
            expect(page.items.length).to.be.greaterThan(0);
            await rm.listAuditEvents(null, { limit: 20 });
            reads++;
          } catch (err) {
            readErrors.push(err);
          }
          // Reads arrive by I/O in a server. On SQLite (a synchronous driver) this loop would
          // otherwise run on microtasks alone and starve every timer and setImmediate, including
          // the event store's group commit.
          await new Promise((r) => setImmediate(r));
        }
      })();
      const writer = appendWorkload(db.store, 6);
      const tasks = await rebuildProjection({ knex: db.knex, store: db.store, batchSize: 25 }, 'tasks');
      const steps = await rebuildProjection({ knex: db.knex, store: db.store }, 'task-steps');
      const audit = await rebuildProjection({ knex: db.knex, store: db.store }, 'audit-log');
      await writer;
      expect(await rm.waitForPosition(await db.store.headPosition(), 15_000)).to.equal(true);
      reading = false;
      await reader;
      await projector.stop();

      expect(readErrors, String(readErrors[0])).to.deep.equal([]);
      expect(reads).to.be.greaterThan(0);
      expect(tasks.events).to.be.greaterThan(0);
      expect(steps.tables).to.deep.equal(['rm_task_step_runs']);
      expect(audit.tables).to.deep.equal(['rm_audit_events']);

      const reference = await openTestDb('sqlite');
      try {
        await new Projector({ knex: reference.knex, bus: null as never }).applyEvents(await db.store.readAll({ limit: 100_000 }));
        expect(await snapshot(db.knex)).to.deep.equal(await snapshot(reference.knex));
      } finally {
        await reference.close();
      }
      const statuses = (await rm.listTasks('acme', { limit: 100 })).items.map((t) => t.status);
      expect(statuses).to.include('completed');
      expect(statuses).to.not.include('cancelled');
      // The view cached from the broken tables is not served any more (the rebuild raised the
      // cache epoch), though the rebuild could not reach this cache: it is this process's own.
      expect((await rm.getTask('acme', done.id))!.status).to.equal('completed');
      const leftovers = (await db.knex.raw(dialect === 'mysql' ? 'SHOW TABLES' : "SELECT name FROM sqlite_master WHERE type = 'table'"));
      expect(JSON.stringify(leftovers)).to.not.match(/__r|__old/);
    });

    it('a failure right after the swap never leaves the new tables behind the old cache epoch', async () => {
      await appendWorkload(db.store, 4);
      const projector = new Projector({ knex: db.knex, bus: null as never });
      await projector.applyEvents(await db.store.readAll({ limit: 10_000 }));
      await projector.stop();
      // The old tables' mark: views cached from them say "cancelled".
      await db.knex('rm_tasks').update({ status: 'cancelled' });
      const before = await readCacheEpoch(db.knex);
      // From the first rename on, every statement fails (the database or its link failing just
      // there), except those that end the transaction and give the lock back.
      let failing = false;
      const inject = (q: { sql: string }) => {
        if (failing && !/^(commit|rollback|select release_lock)/i.test(q.sql)) throw new Error('injected failure');
        if (/\brename\b/i.test(q.sql)) failing = true;
      };
      db.knex.on('query', inject);
      const err = await rebuildProjection({ knex: db.knex, store: db.store }, 'tasks')
        .catch((e: Error) => e)
        .finally(() => db.knex.removeListener('query', inject));
      expect(String(err)).to.match(/injected failure/);

      const swapped = !(await db.knex('rm_tasks').pluck('status')).includes('cancelled');
      const epoch = await readCacheEpoch(db.knex);
      // MySQL: RENAME TABLE commits, so the swap is in place; SQLite: rolled back with the rest.
      expect({ swapped, epochRaised: epoch > before }).to.deep.equal({ swapped: dialect === 'mysql', epochRaised: dialect === 'mysql' });
    });

    if (dialect === 'mysql') {
      it("a projector's epoch raise while the rebuild waits for the lock is never undone by the swap", async () => {
        await appendWorkload(db.store, 4);
        // Redis down for this projector: each batch raises the epoch instead of refreshing. It
        // keeps the write lock between batches (lockHoldMs), so the rebuild's swap waits for it.
        const down = new Proxy(new MemoryCache(), {
          get: (_target, p) => (p === 'name' ? 'memory' : async () => Promise.reject(new Error('cache down'))),
        });
        const projector = new Projector({ knex: db.knex, bus: null as never, cache: down, lockHoldMs: 60_000 });
        // Which connections hold the lock when an epoch raise is sent on one.
        const holding = new Set<unknown>();
        const raises: boolean[] = [];
        const watch = (q: { sql: string; __knexUid?: unknown }) => {
          if (/GET_LOCK/i.test(q.sql)) holding.add(q.__knexUid);
          if (/RELEASE_LOCK/i.test(q.sql)) holding.delete(q.__knexUid);
          if (/^update `rm_cache_epoch`/i.test(q.sql)) raises.push(holding.has(q.__knexUid));
        };
        db.knex.on('query', watch);
        await projector.applyEvents(await db.store.readAll({ limit: 10_000 }));
        await db.knex('rm_tasks').update({ status: 'cancelled' });
        const rm = new SqlReadModels({ knex: db.knex, cache: new MemoryCache() });
        const done = (await rm.listTasks('acme', { limit: 1, status: 'cancelled' })).items[0];

        let copied!: () => void;
        const replayed = new Promise<void>((r) => (copied = r));
        const rebuild = rebuildProjection({ knex: db.knex, store: db.store, log: (m) => m.includes('replayed') && copied() }, 'tasks');
        await Promise.race([replayed, rebuild]);
        // While the rebuild waits for the lock: a batch, its refresh fails, the epoch is raised,
        // and a reader caches a view of the old tables under the raised epoch.
        const stream = `task-${newId()}`;
        const submitted = await db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: { instruction: 'x' } })]);
        const before = await readCacheEpoch(db.knex);
        await projector.applyEvents(submitted.events);
        const raised = await readCacheEpoch(db.knex);
        expect(raised).to.equal(before + 1);
        expect((await rm.getTask('acme', done.id))!.status).to.equal('cancelled');
        await projector.stop();
        await rebuild;

        // The swap's epoch is above the raised one: the view cached under it is not served.
        expect((await rm.getTask('acme', done.id))!.status).to.not.equal('cancelled');
        expect(await readCacheEpoch(db.knex)).to.equal(raised + 1);
        // Raises after the swap count on the swapped-in epoch table.
        const next = `task-${newId()}`;
        await projector.applyEvents((await db.store.append(next, [createEvent({ type: 'TaskSubmitted', stream: next, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: { instruction: 'y' } })])).events);
        await projector.stop();
        db.knex.removeListener('query', watch);
        expect(await readCacheEpoch(db.knex)).to.equal(raised + 2);
        // Every raise ran on the connection holding the lock, so under the lock or not at all.
        expect(raises).to.have.length(3);
        expect(raises).to.not.include(false);
      });
    }

    it('swaps in while events keep coming, the live projector applying each at once (it does not wait for a pause in traffic)', async () => {
      await appendWorkload(db.store, 4);
      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()) });
      await projector.start();
      let writing = true;
      let appended = 0;
      const writer = (async () => {
        while (writing) {
          const stream = `task-${newId()}`;
          const { events } = await db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: { steps: [] } })]);
          appended++;
          // Wait until the live projector has applied it: it is always at the head of the log.
          const applied = projector.applied.wait(events[0].position);
          if (projector.applied.highest >= events[0].position) applied.cancel();
          else await applied.promise;
        }
      })();
      try {
        while (appended < 3) await new Promise((r) => setTimeout(r, 10));
        const rebuilt = await rebuildProjection({ knex: db.knex, store: db.store }, 'tasks');
        expect(rebuilt.tables).to.deep.equal(['rm_tasks', 'rm_task_steps']);
      } finally {
        writing = false;
        await writer;
        await projector.stop();
      }
      expect(await db.knex('rm_tasks').count({ n: '*' }).first()).to.deep.equal({ n: 4 + appended });
    });

    it('names an unknown projection as a validation error', async () => {
      const err = await rebuildProjection({ knex: db.knex, store: db.store }, 'nope').catch((e) => e);
      expect(err).to.be.instanceOf(OpenMcpError);
      expect(err.code).to.equal('VALIDATION_FAILED');
      expect(err.details).to.deep.equal({ field: 'name' });
    });
  });
}
