import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../../src/app/open-stores';
import { loadConfig } from '../../src/config';
import { freePort } from '../support/free-port';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { Connection } from 'mysql2';

describe('openStores (embedded default)', () => {
  for (const [setting, expected] of [['full', 2], ['normal', 1]] as const) {
    it(`applies SQLITE_SYNCHRONOUS=${setting} to the SQLite connection`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'omc-os-'));
      const stores = await openStores(loadConfig({ DATA_DIR: dir, SQLITE_SYNCHRONOUS: setting }));
      try {
        const rows = (await stores.knex.raw('PRAGMA synchronous')) as { synchronous: number }[];
        expect(rows[0].synchronous).to.equal(expected);
        expect(stores.store.name).to.equal('sql:sqlite');
        expect(stores.cache.name).to.equal('memory');
      } finally {
        await stores.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('openStores (production adapters)', () => {
  it('KURRENTDB_URL with nobody answering: the start fails naming the address and the setting (was "kurrentdb: readAll: unavailable")', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'omc-os-'));
    const port = await freePort();
    try {
      const err = await openStores(loadConfig({ DATA_DIR: dir, KURRENTDB_URL: `kurrentdb://admin:changeit@127.0.0.1:${port}?tls=false` })).then(
        async (s) => (await s.close(), undefined),
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err?.message).to.match(new RegExp(`^kurrentdb: cannot connect to kurrentdb://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${port}\\?tls=false \\(KURRENTDB_URL\\): `));
      expect(err?.message).not.to.include('changeit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says when DATABASE_URL named a MySQL database that did not exist and the start created it (empty): a typo in its name gave a fresh database, new leases and checkpoints beside the real ones, without a word', async function () {
    this.timeout(60_000);
    await requireService(this, 'MariaDB', mysqlAvailable);
    const dir = mkdtempSync(join(tmpdir(), 'omc-os-'));
    // A unique name, and no database of that name (made, then dropped; dropped again at the end).
    const db = await createTestDatabase('omc_created');
    await db.drop();
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url });
    try {
      const first = await openStores(config);
      await first.close();
      expect(first.createdDatabase, 'the first start made it').to.equal(db.name);
      const second = await openStores(config);
      await second.close();
      expect(second.createdDatabase, 'a start on a database that exists').to.equal(undefined);
    } finally {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not say it created a database that was there on MySQL 8, which answers CREATE DATABASE IF NOT EXISTS on an existing database with 1 row affected (and its note 1007), as MariaDB answers 0: every start of the compose stack (mysql:8.4) said the database had been created", async function () {
    this.timeout(60_000);
    await requireService(this, 'MariaDB', mysqlAvailable);
    const dir = mkdtempSync(join(tmpdir(), 'omc-os-'));
    const db = await createTestDatabase('omc_exists');
    // MySQL 8's OK packet for an existing database (sql_db.cc: store_in_dd = false, then my_ok(thd, 1)), on MariaDB.
    const query = Connection.prototype.query;
    Connection.prototype.query = function (this: Connection, ...args: unknown[]) {
      const sql = String((args[0] as { sql?: string })?.sql ?? args[0]);
      const cb = args.findLastIndex((a) => typeof a === 'function');
      if (/^CREATE DATABASE IF NOT EXISTS/i.test(sql) && cb >= 0) {
        const done = args[cb] as (err: unknown, rows: { affectedRows: number; warningStatus: number }, ...rest: unknown[]) => void;
        args[cb] = (err: unknown, rows: { affectedRows: number; warningStatus: number }, ...rest: unknown[]) => done(err, rows && rows.warningStatus > 0 ? { ...rows, affectedRows: 1 } : rows, ...rest);
      }
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      const stores = await openStores(loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url }));
      await stores.close();
      expect(stores.createdDatabase, 'a start on a database that exists').to.equal(undefined);
    } finally {
      Connection.prototype.query = query;
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
