import type { Knex } from 'knex';
import type { ProjectionApplier } from './projection';
import type { ReadModelTables } from './tables';
import { sealedRange, toAuditRow, type AuditRow, type BatchRange } from './audit-log.projection';
import { insertNewRows } from './sql-rows';
import { auditActor } from './subject-events.projection';

function toRow(a: AuditRow): Record<string, unknown> {
  return {
    position: a.position,
    id: a.id,
    stream: a.stream,
    revision: a.revision,
    type: a.type,
    tenant: a.tenant,
    occurred_at: a.occurredAt,
    hash: a.hash,
    body: JSON.stringify(a.envelope),
    seq: a.seq ?? null,
    batch_id: a.batchId ?? null,
    // In the same row, so the subject index needs no row of its own for an event's actor.
    actor: auditActor(a.envelope.actor),
  };
}

async function batchesCovering(trx: Knex.Transaction, t: ReadModelTables, min: number, max: number): Promise<BatchRange[]> {
  const rows = await trx(t.batches).whereNotNull('first_seq').where('first_seq', '<=', max).where('last_seq', '>=', min).select('batch_id', 'first_seq', 'last_seq');
  return rows.map((r) => ({ batchId: Number(r.batch_id), firstSeq: Number(r.first_seq), lastSeq: Number(r.last_seq) }));
}

/**
 * The audit log applier: an insert-only log keyed by position, so a duplicate is ignored by the
 * key. Batch ids come from two sides because a seal and the events it covers may arrive in either
 * order: new rows look up sealed batches (the batches applier runs first in the same
 * transaction), and a BatchSealed fills its range in rows already there.
 */
export function auditLogApplier(options: { seqFromPosition?: boolean } = {}): ProjectionApplier {
  const seqFromPosition = options.seqFromPosition ?? true;
  return {
    name: 'audit-log',
    canHandle: () => true,
    async apply(trx, t, events) {
      if (!events.length) return;
      const positions = events.map((e) => e.position);
      const batches = seqFromPosition ? await batchesCovering(trx, t, Math.min(...positions), Math.max(...positions)) : [];
      await insertNewRows(trx, t.auditEvents, 'position', events.map((e) => toRow(toAuditRow(e, seqFromPosition, batches))));
      for (const e of events) {
        const r = sealedRange(e);
        if (r) await trx(t.auditEvents).whereNull('batch_id').whereBetween('seq', [r.firstSeq, r.lastSeq]).update({ batch_id: r.batchId });
      }
    },
  };
}
