import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../../src/app/open-stores';
import { loadConfig } from '../../src/config';

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
