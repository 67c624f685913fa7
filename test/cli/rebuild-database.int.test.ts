import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRebuild } from '../../src/cli/rebuild';
import { loadConfig } from '../../src/config';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

describe('openmcp projections rebuild: the database it rebuilds in', function () {
  this.timeout(60_000);

  it('says when DATABASE_URL named a database that did not exist (a typo in its name): the rebuild made it and reported success there, leaving the real read models as they were', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const dir = mkdtempSync(join(tmpdir(), 'omc-rebuild-'));
    // A unique name, and no database of that name (made, then dropped; dropped again at the end).
    const db = await createTestDatabase('omc_rebuild_typo');
    await db.drop();
    const said: string[] = [];
    const saved = { log: console.log, error: console.error };
    Object.assign(console, { log: (...a: unknown[]) => void said.push(`out: ${a.join(' ')}`), error: (...a: unknown[]) => void said.push(`err: ${a.join(' ')}`) });
    try {
      await runRebuild(loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url }), 'tasks');
      await runRebuild(loadConfig({ DATA_DIR: dir, DATABASE_URL: db.url }), 'tasks');
    } finally {
      Object.assign(console, saved);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
    const warnings = said.filter((l) => l.includes('did not exist'));
    expect(warnings, said.join('\n')).to.have.length(1);
    expect(warnings[0]).to.match(new RegExp(`^err: database ${db.name} did not exist: created it \\(empty\\)\\. .*DATABASE_URL`));
  });
});
