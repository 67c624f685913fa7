import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down } from '../../migrations/20261211080000_task_approvals';
import { LIVE_TABLES } from '../../projections/tables';
import { itOnBothDatabases } from '../support/on-both-databases';

const NAME = '20261211080000_task_approvals';

/**
 * 20261211080000_task_approvals on a database an earlier release migrated (rm_tasks without
 * approvals_json): it adds the column, keeps the rows, and a database created after has it from
 * the read models' schema.
 */
describe(`migration ${NAME}`, function () {
  this.timeout(120_000);

  async function upgrades(knex: Knex): Promise<void> {
    await migrateLatest(knex);
    expect(await knex.schema.hasColumn(LIVE_TABLES.tasks, 'approvals_json'), 'on a new database').to.equal(true);
    // As a database of the release before: without the column, the migration not recorded, a task projected.
    await down(knex);
    await knex('knex_migrations').where({ name: NAME }).delete();
    expect(await knex.schema.hasColumn(LIVE_TABLES.tasks, 'approvals_json')).to.equal(false);
    const row = { id: 'task-1', tenant: 'acme', status: 'running', created_at: '2026-12-07T20:00:00.000Z', updated_at: '2026-12-07T20:00:00.000Z', revision: 1, position: 2 };
    await knex(LIVE_TABLES.tasks).insert(row);
    expect((await migrateLatest(knex)).applied).to.deep.equal([NAME]);
    expect(await knex(LIVE_TABLES.tasks).where('id', 'task-1').first('status', 'approvals_json')).to.deep.equal({ status: 'running', approvals_json: null });
  }

  itOnBothDatabases('adds the column to read models that lack it', 'approvals', upgrades);
});
