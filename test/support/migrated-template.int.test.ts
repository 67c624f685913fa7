import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { createMigratedTestDatabase } from './migrated-template';
import { createTestDatabase, mysqlAvailable, requireService } from './services';

/** Everything of a database's schema and rows that a test could see, table by table. */
async function contents(knex: Knex): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const tables = ((await knex.raw('SHOW FULL TABLES'))[0] as Record<string, string>[]).map((r) => Object.values(r).join(' '));
  out.tables = tables;
  for (const t of tables.map((x) => x.split(' ')[0])) {
    out[`ddl ${t}`] = (await knex.raw('SHOW CREATE TABLE ??', [t]))[0][0]['Create Table'];
    out[`rows ${t}`] = (await knex(t).select('*')).map((r: Record<string, unknown>) => ({ ...r, migration_time: undefined }));
  }
  out.triggers = ((await knex.raw('SHOW TRIGGERS'))[0] as Record<string, unknown>[]).map((r) => ({ ...r, Created: undefined }));
  return out;
}

describe('createMigratedTestDatabase (MariaDB): a copy of what migrateLatest makes of an empty database', function () {
  this.timeout(60_000);
  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
  });

  it('holds the same tables, columns, indexes, triggers and seeded rows as a database migrated here, and is one of its own', async () => {
    const migrated = await createTestDatabase('omc_tplcheck');
    const copy = await createMigratedTestDatabase('omc_tplcheck');
    const again = await createMigratedTestDatabase('omc_tplcheck');
    const [m, c, a] = await Promise.all([openKnex(migrated.url), openKnex(copy.url), openKnex(again.url)]);
    try {
      await migrateLatest(m);
      const expected = await contents(m);
      expect(await contents(c)).to.deep.equal(expected);
      // Nothing left for migrateLatest to do on the copy; a write to one copy is not in another.
      expect((await migrateLatest(c)).applied).to.deep.equal([]);
      await c('checkpoints').insert({ name: 'x', position: 1, updated_at: 'now' });
      expect(await a('checkpoints').count({ n: '*' })).to.deep.equal([{ n: 0 }]);
    } finally {
      await Promise.all([m.destroy(), c.destroy(), a.destroy()]);
      await Promise.all([migrated.drop(), copy.drop(), again.drop()]);
    }
  });
});
