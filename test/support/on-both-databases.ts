import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { openKnex } from '../../src/db/knex';
import { createTestDatabase, mysqlAvailable, requireService } from './services';

/**
 * Two tests of `body`, each on an empty database of its own: `SQLite: <title>` on a file in a
 * temporary directory, `MariaDB: <title>` on a uniquely named database (requireService: skipped
 * with a loud message without MariaDB, failing under CI=true). The knex is destroyed and the
 * database removed after, whatever `body` did.
 * @example itOnBothDatabases('adds the column', 'approvals', async (knex) => { await migrateLatest(knex); … });
 */
export function itOnBothDatabases(title: string, prefix: string, body: (knex: Knex) => Promise<void>): void {
  it(`SQLite: ${title}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `omc-${prefix}-`));
    try {
      const knex = await openKnex(`sqlite:${join(dir, 'db.sqlite')}`);
      try {
        await body(knex);
      } finally {
        await knex.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`MariaDB: ${title}`, async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase(`omc_${prefix.replace(/-/g, '_')}`);
    try {
      const knex = await openKnex(db.url);
      try {
        await body(knex);
      } finally {
        await knex.destroy();
      }
    } finally {
      await db.drop();
    }
  });
}
