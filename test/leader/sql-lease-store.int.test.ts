import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { expect } from 'chai';
import { SqlLeaseStore, startLeadership, type LeaseStore } from '../../src/leader';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { describeLeaseStore, type LeaseStoreFixture } from './lease-store.conformance';

// The fenced write under test: a row inserted in the same transaction that checks the token.
async function sqlFixture(knex: Knex, another: Knex, cleanup: () => Promise<void>): Promise<LeaseStoreFixture> {
  await migrateLatest(knex);
  await knex.schema.createTable('fence_probe', (t) => {
    t.increments('id');
    t.string('lease', 100);
    t.string('value', 100);
  });
  const store = new SqlLeaseStore(knex);
  return {
    store,
    fencedWrite: async (lease, token, value) => {
      await store.fenced(lease, token, (trx) => trx('fence_probe').insert({ lease, value }));
      return true;
    },
    written: async (lease) => (await knex('fence_probe').where({ lease }).orderBy('id')).map((r) => r.value),
    another: new SqlLeaseStore(another),
    close: async () => {
      await knex.destroy();
      await another.destroy();
      await cleanup();
    },
  };
}

describeLeaseStore('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-leases-'));
  const knex = await openKnex(`sqlite:${join(dir, 'leases.db')}`);
  const another = await openKnex(`sqlite:${join(dir, 'leases.db')}`);
  return sqlFixture(knex, another, async () => rmSync(dir, { recursive: true, force: true }));
});

describeLeaseStore('MariaDB', async (ctx) => {
  await requireService(ctx, 'MariaDB', mysqlAvailable);
  const db = await createTestDatabase('omc_leases');
  const knex = await openKnex(db.url);
  return sqlFixture(knex, await openKnex(db.url), () => db.drop());
});

describe('leader election across a step of the wall clock (SQLite leases: the database keeps time)', () => {
  const realNow = Date.now;
  let dir: string;
  let knex: Knex;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-leases-clock-'));
    knex = await openKnex(`sqlite:${join(dir, 'leases.db')}`);
    await migrateLatest(knex);
  });
  after(async () => {
    Date.now = realNow;
    await knex?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  // Waits by the monotonic clock: Date.now is the one set back here.
  async function eventually(what: string, probe: () => boolean, withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs;
    while (!probe()) {
      if (performance.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('ends the term before the lease can run out even when the clock is set back (NTP) during a renewal', async () => {
    const store = new SqlLeaseStore(knex);
    let renewals = 0;
    let cutOff = false;
    // After its third renewal the leader is cut off from the store, and its clock goes back a minute.
    const stepping: LeaseStore = {
      name: 'stepping',
      acquire: async (...args) => {
        if (cutOff) throw new Error('store unreachable');
        const token = await store.acquire(...args);
        if (++renewals === 3) {
          Date.now = () => realNow() - 60_000;
          cutOff = true;
        }
        return token;
      },
      release: (...args) => store.release(...args),
      currentToken: (l) => store.currentToken(l),
    };
    const events: string[] = [];
    const a = startLeadership({
      name: 'clock', store: stepping, ttlMs: 400, renewEveryMs: 80, holder: 'a',
      onElected: (token) => void events.push(`a elected ${token}`),
      onDeposed: (token, reason) => void events.push(`a deposed ${token} ${reason}`),
    });
    await eventually('a elected', () => a.isLeader(), 3_000);
    const b = startLeadership({ name: 'clock', store, ttlMs: 400, renewEveryMs: 80, holder: 'b', onElected: (token) => void events.push(`b elected ${token}`) });
    try {
      await eventually('b elected', () => b.isLeader(), 5_000);
      expect(events.findIndex((e) => e.startsWith('a deposed')), `a stepped down before b took over: ${events.join(', ')}`).to.be.within(0, events.findIndex((e) => e.startsWith('b elected')));
    } finally {
      Date.now = realNow;
      await a.stop();
      await b.stop();
    }
  });
});
