import { expect } from 'chai';
import { bumpCacheEpoch, clockEpochFloor, readCacheEpoch } from '../../src/readmodels/cache-epoch';
import { taskCacheKey, toolCatalogCacheKey } from '../../src/readmodels/cache-keys';
import { CACHE_EPOCH_TABLE } from '../../projections/tables';
import { mysqlAvailable, requireService } from '../support/services';
import { openTestDb, type TestDb } from '../projections/support';

describe('the read cache epoch', () => {
  it('epoch 0 has the keys of the releases before it; every other epoch its own', () => {
    expect(taskCacheKey(0, 't1')).to.equal('rm:task:t1');
    expect(toolCatalogCacheKey(0, 'acme')).to.equal('rm:tools:acme');
    expect(taskCacheKey(7, 't1')).to.equal('rm:7:task:t1');
    expect(toolCatalogCacheKey(7, 'acme')).to.equal('rm:7:tools:acme');
  });

  for (const dialect of ['sqlite', 'mysql'] as const) {
    describe(dialect === 'mysql' ? 'on MariaDB' : 'on SQLite', () => {
      let db: TestDb;
      before(async function () {
        if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
        db = await openTestDb(dialect);
      });
      after(async () => {
        await db?.close();
      });

      it('starts at 0, and concurrent raises each count', async () => {
        expect(await readCacheEpoch(db.knex)).to.equal(0);
        await Promise.all(Array.from({ length: 8 }, () => bumpCacheEpoch(db.knex)));
        expect(await readCacheEpoch(db.knex)).to.equal(8);
      });

      it('a raise with a floor goes to the floor, or one above the live epoch when that is higher; each counts', async () => {
        const floor = clockEpochFloor(Date.parse('2026-12-07T00:00:00Z'));
        expect(floor).to.equal(1_796_601_600_000_000);
        await db.knex(CACHE_EPOCH_TABLE).where('id', 1).update({ epoch: 5 });
        await bumpCacheEpoch(db.knex, floor);
        expect(await readCacheEpoch(db.knex)).to.equal(floor);
        // A restart that finds the epoch past its floor (a clock behind, or raises faster than the clock) still raises.
        await bumpCacheEpoch(db.knex, floor);
        expect(await readCacheEpoch(db.knex)).to.equal(floor + 1);
        await Promise.all(Array.from({ length: 4 }, () => bumpCacheEpoch(db.knex, floor)));
        await bumpCacheEpoch(db.knex);
        expect(await readCacheEpoch(db.knex)).to.equal(floor + 6);
        expect(Number.isSafeInteger(clockEpochFloor(Date.parse('2255-01-01T00:00:00Z')))).to.equal(true);
        if (dialect === 'sqlite') expect((await db.knex.raw(`SELECT typeof(epoch) AS t FROM ${CACHE_EPOCH_TABLE}`))[0].t).to.equal('integer');
      });

      it('refuses to raise it when its row is gone, rather than retire nothing', async () => {
        await db.knex(CACHE_EPOCH_TABLE).delete();
        for (const floor of [0, clockEpochFloor()]) {
          const err = await bumpCacheEpoch(db.knex, floor).catch((e: Error) => e);
          expect(String(err)).to.match(/rm_cache_epoch has no row.*run the migrations/);
        }
      });
    });
  }
});
