import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down } from '../../migrations/20261211090000_tool_call_step';
import { LIVE_TABLES } from '../../projections/tables';
import { itOnBothDatabases } from '../support/on-both-databases';

const NAME = '20261211090000_tool_call_step';

/**
 * 20261211090000_tool_call_step on a database an earlier release migrated (rm_tool_calls without
 * step_id): it adds the column, keeps the rows, and a database created after has it from
 * the read models' schema.
 */
describe(`migration ${NAME}`, function () {
  this.timeout(120_000);

  async function upgrades(knex: Knex): Promise<void> {
    await migrateLatest(knex);
    expect(await knex.schema.hasColumn(LIVE_TABLES.toolCalls, 'step_id'), 'on a new database').to.equal(true);
    // As a database of the release before: without the column, the migration not recorded, a task projected.
    await down(knex);
    await knex('knex_migrations').where({ name: NAME }).delete();
    expect(await knex.schema.hasColumn(LIVE_TABLES.toolCalls, 'step_id')).to.equal(false);
    const row = { id: 'call-1', tenant: 'acme', task_id: 'task-1', server_id: 'srv-1', server: 'examples', tool: 'echo', status: 'completed', requested_position: 2, revision: 1 };
    await knex(LIVE_TABLES.toolCalls).insert(row);
    expect((await migrateLatest(knex)).applied).to.deep.equal([NAME]);
    expect(await knex(LIVE_TABLES.toolCalls).where('id', 'call-1').first('status', 'step_id')).to.deep.equal({ status: 'completed', step_id: null });
  }

  itOnBothDatabases('adds the column to read models that lack it', 'call-step', upgrades);
});
