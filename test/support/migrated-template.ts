import { migrateLatest } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { afterFile } from './after-file';
import { createTestDatabase } from './services';

type Template = { name: string; tables: string[]; withRows: string[]; ddl: string[]; triggers: string[]; drop(): Promise<void> };

let template: Promise<Template> | undefined;

/** Migrate one database of this test file's own, and take down what a copy needs: every table's and trigger's DDL, and which tables the migrations seeded. */
async function migrateTemplate(): Promise<Template> {
  const db = await createTestDatabase('omc_tpl');
  const knex = await openKnex(db.url);
  try {
    await migrateLatest(knex);
    const tables = ((await knex.raw('SHOW FULL TABLES'))[0] as Record<string, string>[]).map((r) => {
      const [name, type] = Object.values(r);
      if (type !== 'BASE TABLE') throw new Error(`migrated template: ${name} is a ${type}, which this copy does not make`);
      return name;
    });
    const ddl: string[] = [];
    const withRows: string[] = [];
    for (const t of tables) {
      ddl.push((await knex.raw('SHOW CREATE TABLE ??', [t]))[0][0]['Create Table'] as string);
      if ((await knex(t).first(knex.raw('1 AS x'))) !== undefined) withRows.push(t);
    }
    const triggers: string[] = [];
    for (const tr of (await knex.raw('SHOW TRIGGERS'))[0] as { Trigger: string }[]) {
      triggers.push((await knex.raw('SHOW CREATE TRIGGER ??', [tr.Trigger]))[0][0]['SQL Original Statement'] as string);
    }
    return { name: db.name, tables, withRows, ddl, triggers, drop: db.drop };
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  } finally {
    await knex.destroy();
  }
}

/**
 * A fresh, uniquely named MariaDB database in the state `migrateLatest` leaves an empty one in
 * (every table, trigger and seeded row, knex's migration rows included): a copy of a database this
 * test file migrated once, made with a statement per table and trigger instead of every
 * migration's DDL again (~0.5 s a database, far more on a loaded machine). The copy is dropped by
 * `drop()`; the migrated original once the test file is done (test/support/root-hooks.ts).
 * @example const db = await createMigratedTestDatabase('omc_proj'); const knex = await openKnex(db.url); … await db.drop()
 */
export async function createMigratedTestDatabase(prefix = 'omc_test'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  if (!template) {
    const made = migrateTemplate();
    template = made;
    made.then(
      (t) =>
        afterFile(async () => {
          if (template === made) template = undefined;
          await t.drop();
        }),
      () => {
        if (template === made) template = undefined;
      },
    );
  }
  const t = await template;
  const db = await createTestDatabase(prefix);
  // Connected as the product connects (its character set is recorded with each trigger).
  const k = await openKnex(db.url);
  try {
    for (const ddl of t.ddl) await k.raw(ddl);
    for (const table of t.withRows) await k.raw('INSERT INTO ??.?? SELECT * FROM ??.??', [db.name, table, t.name, table]);
    for (const trigger of t.triggers) await k.raw(trigger);
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  } finally {
    await k.destroy();
  }
  return db;
}
