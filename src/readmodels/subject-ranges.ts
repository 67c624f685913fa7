import type { Actor } from '../core/envelope';
import { apiKeyStream, auditActor, indexedRef, kidRef, subjectKeyStream } from '../../projections/subject-events.projection';
import type { ReadModelTables } from '../../projections/tables';
import { AUDIT_STREAM_INDEX, AUDIT_TENANT_ACTOR_INDEX } from './schema';
import type { SubjectRange } from './subject-positions';

/** The longest stream name the audit log holds; a lone surrogate no row holds either (MySQL refuses it). */
const MAX_STREAM = 200;
const storable = (stream: string): boolean => stream.length <= MAX_STREAM && !/\p{Surrogate}/u.test(stream);

/**
 * The index ranges of `tenant` that hold the events of the subject `actor` whose data keys are
 * `kids` (docs/security.md, "An access or export request"): those it caused (the audit log's
 * actor column), its own API key's stream `apikey-<actor id>` (of any kind: an API key's id is the
 * actor id of whatever it does), each key's `subject-<kid>` stream, and the payloads sealed under
 * each key (the subject index). A stream no audit row can hold is no range.
 * @example subjectRanges(LIVE_TABLES, 'acme', { kind: 'agent', id: 'k1' }, ['0193…']) // 4 ranges
 */
export function subjectRanges(t: ReadModelTables, tenant: string, actor: Actor, kids: readonly string[]): SubjectRange[] {
  const streams = [apiKeyStream(actor.id), ...kids.map(subjectKeyStream)].filter(storable);
  return [
    { table: t.auditEvents, index: AUDIT_TENANT_ACTOR_INDEX, where: { tenant, actor: auditActor(actor) } },
    ...[...new Set(streams)].map((stream) => ({ table: t.auditEvents, index: AUDIT_STREAM_INDEX, where: { stream }, alsoWhere: { tenant } })),
    ...[...new Set(kids.map((kid) => indexedRef(kidRef(kid))))].map((ref) => ({ table: t.subjectEvents, index: ['tenant', 'ref', 'position'], where: { tenant, ref } })),
  ];
}
