import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down } from '../../migrations/20261211100000_step_run_transactions';
import { LIVE_TABLES } from '../../projections/tables';
import { itOnBothDatabases } from '../support/on-both-databases';

const NAME = '20261211100000_step_run_transactions';

/**
 * 20261211100000_step_run_transactions on a database an earlier release migrated (rm_task_step_runs without
 * tx_json): it adds the column, keeps the rows, and a database created after has it from
 * the read models' schema.
 */
describe(`migration ${NAME}`, function () {
  this.timeout(120_000);

  async function upgrades(knex: Knex): Promise<void> {
    await migrateLatest(knex);
    expect(await knex.schema.hasColumn(LIVE_TABLES.taskStepRuns, 'tx_json'), 'on a new database').to.equal(true);
    // As a database of the release before: without the column, the migration not recorded, a task projected.
    await down(knex);
    await knex('knex_migrations').where({ name: NAME }).delete();
    expect(await knex.schema.hasColumn(LIVE_TABLES.taskStepRuns, 'tx_json')).to.equal(false);
    const row = { task_id: 'task-1', step_id: 'turn-0-call_tx', idx: 0, tool: 'chain__send_transaction', status: 'running', revision: 3 };
    await knex(LIVE_TABLES.taskStepRuns).insert(row);
    expect((await migrateLatest(knex)).applied).to.deep.equal([NAME]);
    expect(await knex(LIVE_TABLES.taskStepRuns).where('task_id', 'task-1').first('status', 'tx_json')).to.deep.equal({ status: 'running', tx_json: null });
  }

  itOnBothDatabases('adds the column to read models that lack it', 'step-tx', upgrades);
});
