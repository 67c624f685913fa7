import type { ProjectionApplier } from './projection';
import { insertNewRows } from './sql-rows';
import { subjectRefs } from './subject-events.projection';

/**
 * The subject index (rm_subject_events): one row (tenant, ref, position) per subject an event is
 * about (subjectRefs), insert-only, so a redelivered event is ignored by the key. It commits with
 * the audit log in the projector's transaction: a position the audit log holds is indexed too.
 */
export const subjectEventsApplier: ProjectionApplier = {
  name: 'subject-events',
  canHandle: () => true,
  async apply(trx, t, events) {
    const rows = events.flatMap((e) => subjectRefs(e).map((ref) => ({ tenant: e.tenant, ref, position: e.position })));
    await insertNewRows(trx, t.subjectEvents, ['tenant', 'ref', 'position'], rows);
  },
};
