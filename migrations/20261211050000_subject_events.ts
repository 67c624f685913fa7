import type { Knex } from 'knex';
import { CHECKPOINT_TABLE, LIVE_TABLES } from '../projections/tables';
import { advanceCheckpoints } from '../src/projector/checkpoints';
import { insertNewRows } from '../projections/sql-rows';
import { subjectRefs } from '../projections/subject-events.projection';
import type { RecordedEvent } from '../src/core/envelope';
import { createSubjectEventsTable } from '../src/readmodels/schema';

/** Audit rows read per query, and the most characters of their bodies one read holds (one event holds up to 4 MiB). */
const ROWS = 1000;
const CHARS = 16 * 1024 * 1024;

/**
 * `rm_subject_events`, the subject index behind GET /v1/subjects/:subject/events, filled here from
 * the audit log already projected (its envelopes), so an existing deployment has every event of
 * its log indexed when it starts: a backfill, not a rebuild, because it reads only our own table,
 * in position order, a bounded slice at a time. A large log takes a while on the first start after
 * the upgrade (about the time the projector took to write it). From then on the projector fills it
 * with the audit log, in the same transaction. An older release's projector running beside this
 * one during a rolling upgrade does not: run `openmcp projections rebuild subject-events` once
 * after its last replica is gone (docs/operations.md). A run stopped halfway (a restart during
 * the first start) goes on where it stopped. A database created after this change has the table
 * from src/readmodels/schema.ts already, and an empty audit log: nothing to fill.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.subjectEvents;
  if (!(await knex.schema.hasTable(table))) await createSubjectEventsTable(knex, table);
  // On from the last position a stopped run filled (MySQL commits the table's creation, and this
  // migration is recorded only once it ends); that position again, as its rows may be only in part.
  // Until it is recorded no projector of this release runs, so every row is this backfill's.
  const done = await knex(table).max({ p: 'position' }).first();
  for (let after = done?.p === null || done?.p === undefined ? -1 : Number(done.p) - 1; ; ) {
    const sized: { position: number | string; size: number | string | null }[] = await knex(LIVE_TABLES.auditEvents)
      .select('position', knex.raw('LENGTH(body) AS size'))
      .where('position', '>', after)
      .orderBy('position')
      .limit(ROWS);
    if (!sized.length) break;
    let taken = 0;
    for (let chars = 0; taken < sized.length; taken++) {
      chars += Number(sized[taken].size ?? 0);
      if (taken > 0 && chars > CHARS) break;
    }
    const last = Number(sized[taken - 1].position);
    const rows: { tenant: string; body: string; position: number | string }[] = await knex(LIVE_TABLES.auditEvents)
      .select('tenant', 'body', 'position')
      .where('position', '>', after)
      .andWhere('position', '<=', last);
    await insertNewRows(knex, table, ['tenant', 'ref', 'position'], rows.flatMap((r) => subjectRefs(JSON.parse(r.body) as RecordedEvent).map((ref) => ({ tenant: r.tenant, ref, position: Number(r.position) }))));
    after = last;
  }
  // The projection starts where the audit log it was filled from stands: without a checkpoint of
  // its own its watermark is -1, and its lag gauge (openmcp_projection_lag_events, without Kafka)
  // counted the whole log until the next event, an idle deployment's alert firing meanwhile.
  const audit = await knex(CHECKPOINT_TABLE).where('projection', 'audit-log').first('position');
  if (audit) await advanceCheckpoints(knex, ['subject-events'], Number(audit.position));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(LIVE_TABLES.subjectEvents);
}
