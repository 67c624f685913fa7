import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down } from '../../migrations/20261211060000_payload_hash_schemes';
import { down as subjectEventsDown } from '../../migrations/20261211050000_subject_events';
import { createEvent } from '../../src/core/envelope';
import { indexedRef, kidRef } from '../../projections/subject-events.projection';
import { LIVE_TABLES } from '../../projections/tables';
import { itOnBothDatabases } from '../support/on-both-databases';

const ADDED: [string, string][] = [
  [LIVE_TABLES.toolCalls, 'arguments_hash_scheme'],
  [LIVE_TABLES.toolCalls, 'result_hash_scheme'],
  [LIVE_TABLES.toolCalls, 'arguments_salt_sealed'],
  [LIVE_TABLES.toolCalls, 'result_salt_sealed'],
  [LIVE_TABLES.toolCalls, 'error_salt_sealed'],
  [LIVE_TABLES.tasks, 'instruction_hash_scheme'],
];

/**
 * 20261211060000_payload_hash_schemes on a database an earlier release migrated (read models without
 * the columns): it adds them, and a database created after has them from the read models' schema.
 */
describe('migration 20261211060000_payload_hash_schemes', function () {
  this.timeout(120_000);

  async function upgrades(knex: Knex): Promise<void> {
    await migrateLatest(knex);
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c), `${t}.${c} on a new database`).to.equal(true);
    // As a database of the release before: without the columns, the migration not recorded.
    await down(knex);
    await knex('knex_migrations').where({ name: '20261211060000_payload_hash_schemes' }).delete();
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c)).to.equal(false);
    expect((await migrateLatest(knex)).applied).to.deep.equal(['20261211060000_payload_hash_schemes']);
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c), `${t}.${c} after the upgrade`).to.equal(true);

    // Both of 2026-12-11's read-model migrations pending in one start (a rollback to 2026-12-06, whose
    // statement forgot them, and an upgrade again): the subject index first, its backfill indexing a
    // call kept by hash only that 2026-12-11 recorded before the rollback by its salt's key, then the columns.
    await down(knex);
    await subjectEventsDown(knex);
    await knex('knex_migrations').whereIn('name', ['20261211050000_subject_events', '20261211060000_payload_hash_schemes']).delete();
    const salt = { alg: 'A256GCM', kid: 'kid-salt', iv: `0x${'0'.repeat(24)}`, ct: `0x${'a'.repeat(132)}`, tag: `0x${'0'.repeat(32)}` };
    const e = createEvent({
      type: 'ToolCallRequested',
      version: 4,
      stream: 'toolcall-01a24dbd-2b81-7149-8887-50ea0db92900',
      tenant: 'acme',
      actor: { kind: 'agent', id: 'agent-worker-7' },
      data: { argumentsHash: `0x${'1'.repeat(64)}`, argumentsHashScheme: 'hmac-sha256-salted-v1', argumentsSaltSealed: salt, payloadPolicy: 'encrypted' },
    });
    await knex(LIVE_TABLES.auditEvents).insert({ position: 1, id: e.id, stream: e.stream, revision: 0, type: e.type, tenant: e.tenant, occurred_at: e.occurredAt, hash: e.hash, body: JSON.stringify({ ...e, revision: 0, position: 1 }) });
    expect((await migrateLatest(knex)).applied).to.deep.equal(['20261211050000_subject_events', '20261211060000_payload_hash_schemes']);
    for (const [t, c] of ADDED) expect(await knex.schema.hasColumn(t, c), `${t}.${c} after both`).to.equal(true);
    expect(await knex(LIVE_TABLES.subjectEvents).select('tenant', 'ref', 'position')).to.deep.equal([{ tenant: 'acme', ref: indexedRef(kidRef('kid-salt')), position: 1 }]);
    expect(await knex(LIVE_TABLES.auditEvents).where('position', 1).first('actor')).to.deep.equal({ actor: 'actor:agent:agent-worker-7' });
  }

  itOnBothDatabases('adds the columns to read models that lack them', 'schemes', upgrades);
});
