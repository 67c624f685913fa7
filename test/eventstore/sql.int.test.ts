import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent } from '../../src/core/envelope';
import { openKnex } from '../../src/db/knex';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { eventStoreConformance } from './conformance';

const actor = { kind: 'system' as const, id: 'test' };

describe('SQL event store', () => {
  describe('on SQLite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-sqlite-'));
    const url = `sqlite:${join(dir, 'events.db')}`;
    eventStoreConformance('SQLite', {
      open: () => openSqlEventStore(url),
      openAnother: () => openSqlEventStore(url),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      gapFreePositions: true,
      tamper: {
        update: async () => {
          const k = await openKnex(url);
          try {
            await k('events').update({ type: 'Forged' });
          } finally {
            await k.destroy();
          }
        },
        delete: async () => {
          const k = await openKnex(url);
          try {
            await k('events').del();
          } finally {
            await k.destroy();
          }
        },
      },
    });
  });

  describe('on MariaDB', function () {
    let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    before(async function () {
      await requireService(this, 'MariaDB', mysqlAvailable);
      db = await createTestDatabase('omc_es');
    });
    after(async () => db?.drop());
    const url = () => db!.url;
    eventStoreConformance('MariaDB', {
      open: () => openSqlEventStore(url()),
      openAnother: () => openSqlEventStore(url()),
      gapFreePositions: true,
      tamper: {
        update: async () => {
          const k = await openKnex(url());
          try {
            await k('events').update({ type: 'Forged' });
          } finally {
            await k.destroy();
          }
        },
        delete: async () => {
          const k = await openKnex(url());
          try {
            await k('events').del();
          } finally {
            await k.destroy();
          }
        },
      },
    });
  });

  describe('group commit (SQLite)', () => {
    let store: SqlEventStore;
    const dir = mkdtempSync(join(tmpdir(), 'omc-gc-'));
    before(async () => {
      store = await openSqlEventStore(`sqlite:${join(dir, 'gc.db')}`);
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('fails only the conflicting append of a shared transaction', async () => {
      const s = 'task-gc-1';
      await store.append(s, [createEvent({ type: 'TaskStarted', stream: s, tenant: 't', actor, data: {} })]);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => {
          const stream = i === 5 ? s : `task-gc-other-${i}`;
          const expected = i === 5 ? ('no_stream' as const) : ('any' as const);
          return store.append(stream, [createEvent({ type: 'TaskStarted', stream, tenant: 't', actor, data: { i } })], { expectedRevision: expected });
        }),
      );
      expect(results.map((r) => r.status)).to.deep.equal(Array.from({ length: 10 }, (_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    });

    it('rejects bad input before it reaches the database, naming the field', async () => {
      const e = createEvent({ type: 'TaskStarted', stream: 'task-a', tenant: 't', actor, data: {} });
      const before = await store.headPosition();
      expect(await store.append('not a stream', [e]).catch((x) => x.message)).to.match(/stream/);
      expect(await store.append('task-b', [e]).catch((x) => x.message)).to.match(/belongs to task-a/);
      expect(await store.append('task-a', []).catch((x) => x.message)).to.match(/at least one event/);
      expect(await store.append('task-a', [e, e]).catch((x) => x.message)).to.match(/twice/);
      expect(await store.headPosition()).to.equal(before);
    });

    it('refuses an event id reused with different content', async () => {
      const e = createEvent({ type: 'TaskStarted', stream: 'task-reuse', tenant: 't', actor, data: { a: 1 } });
      await store.append('task-reuse', [e]);
      const forged = { ...e, data: { a: 2 }, hash: createEvent({ ...e, data: { a: 2 } }).hash };
      const err = await store.append('task-reuse', [forged]).catch((x) => x);
      expect(err.code).to.equal('EVENT_ID_CONFLICT');
    });

    it('acknowledges every append before close() returns', async () => {
      const pending = Array.from({ length: 50 }, (_, i) => {
        const s = `task-close-${i}`;
        return store.append(s, [createEvent({ type: 'TaskStarted', stream: s, tenant: 't', actor, data: {} })]);
      });
      const results = await Promise.all(pending);
      const all = await store.readAll({ after: results[0].position - 1, limit: 100 });
      expect(all.filter((e) => e.stream.startsWith('task-close-'))).to.have.length(50);
    });
  });
});
