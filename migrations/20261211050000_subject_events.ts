import type { Knex } from 'knex';
import { CHECKPOINT_TABLE, LIVE_TABLES } from '../projections/tables';
import { indexesByColumns } from '../src/db/index-names';
import { fillAuditActors } from '../src/readmodels/audit-actors';
import { AUDIT_TENANT_ACTOR_INDEX, createSubjectEventsTable } from '../src/readmodels/schema';

/**
 * On MySQL, outside knex's transaction (migrations/index.ts, sourceFor): in it, the whole backfill
 * would be one transaction whenever the table is already there (after a stopped run), so a start
 * stopped again would lose all it did and the next begin at the same place. Each slice commits on
 * its own, in position order. On SQLite the migrations stay one transaction: a stopped run leaves
 * nothing, knex's lock row included (there nothing frees one a dead process left).
 */
export const mysqlConfig = { transaction: false };

/**
 * What GET /v1/subjects/:subject/events reads (src/readmodels/subject-ranges.ts), filled from the
 * audit log already projected, so an existing deployment has every event of its log found when it
 * starts: the audit log's `actor` column (who caused each event) and its (tenant, actor, position)
 * index, and `rm_subject_events`, the subject index of the data keys that sealed payloads (rows
 * only for events that carry one). A backfill, not a rebuild: it reads only our own table, in
 * position order, a bounded slice at a time, each body read once for its index rows then its actor
 * (fillAuditActors). A large log takes a while on the first start after
 * the upgrade. From then on the projector writes both, the actor in the audit row itself. An older
 * release's projector running beside this one during a rolling upgrade does not (nor after a
 * rollback): each projector of this release fills those rows at its start and every minute
 * (startSubjectIndexRepair; docs/operations.md). A run stopped halfway (a restart during the first start) goes on where it
 * stopped on MySQL (mysqlConfig; a dead run's knex lock is freed by withMigrationLock), and starts
 * again on SQLite. A database created after this change has the column, the index and the table
 * from src/readmodels/schema.ts already, and an empty audit log: nothing to fill.
 */
export async function up(knex: Knex): Promise<void> {
  const audit = LIVE_TABLES.auditEvents;
  if (!(await knex.schema.hasColumn(audit, 'actor'))) await knex.schema.alterTable(audit, (t) => t.string('actor', 255));
  const table = LIVE_TABLES.subjectEvents;
  if (!(await knex.schema.hasTable(table))) await createSubjectEventsTable(knex, table);
  // Each slice its index rows, then its actors: a run stopped goes on from the rows still without
  // an actor, and no row ever has its actor without its index rows, which the projectors' sweep
  // (rows without an actor: an older projector's, written meanwhile anywhere in the log) relies on.
  await fillAuditActors(knex, audit, table);
  // Built once the column is filled: cheaper than keeping it up to date row by row.
  if (!(await indexesByColumns(knex, audit)).has(AUDIT_TENANT_ACTOR_INDEX.join(','))) {
    await knex.schema.alterTable(audit, (t) => t.index([...AUDIT_TENANT_ACTOR_INDEX]));
  }
  // Filled as far as the audit log: its watermark, not none (-1 would show the whole log as this
  // projection's lag, openmcp_projection_lag_events, until the projector's next batch).
  const checkpoint = await knex(CHECKPOINT_TABLE).where({ projection: 'audit-log' }).first('position');
  if (checkpoint) await knex(CHECKPOINT_TABLE).insert({ projection: 'subject-events', position: checkpoint.position, updated_at: new Date().toISOString() }).onConflict('projection').ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(LIVE_TABLES.subjectEvents);
  const audit = LIVE_TABLES.auditEvents;
  // By its own name: knex's default name is not that of an index a rebuild created.
  const name = (await indexesByColumns(knex, audit)).get(AUDIT_TENANT_ACTOR_INDEX.join(','));
  if (name !== undefined) await knex.schema.alterTable(audit, (t) => t.dropIndex([...AUDIT_TENANT_ACTOR_INDEX], name));
  if (await knex.schema.hasColumn(audit, 'actor')) await knex.schema.alterTable(audit, (t) => t.dropColumn('actor'));
}
