import { catalog } from '../../events';
import type { Principal } from './principal';
import { ForbiddenError } from './errors';
import type { Clock } from '../core/clock';
import { createEvent } from '../core/envelope';
import { WrongExpectedRevisionError } from '../core/errors';
import type { EventStore } from '../eventstore/port';
import { SubjectNotFoundError } from '../erasure/errors';
import { parseSubject } from '../erasure/subject';
import type { SubjectKeyStore } from '../erasure/subject-key-store';

export type EraseSubjectKeyDependencies = { store: EventStore; subjectKeys: SubjectKeyStore; clock?: Clock };

/** The stream of a key's erasure: named by the key, never by its subject. */
export const subjectKeyStream = (kid: string): string => `subject-${kid}`;

/**
 * Erase a subject's data key (`subject`: `<tenant>:<kind>:<actor id>`, parseSubject), by an admin
 * of its tenant or a cross-tenant one: every payload sealed with it becomes unreadable for good,
 * while the events and their proofs stay valid, and records SubjectKeyErased on `subject-<kid>`.
 * Idempotent, and a repeat completes the record: the key goes first (fail closed: asked to erase,
 * the data becomes unreadable whatever happens next), then each of the subject's erased keys, now
 * or before, is recorded once (`no_stream`). Should the append fail, the error is answered and the
 * key is gone anyway; the same request again records it.
 * Throws VALIDATION_FAILED (malformed id), FORBIDDEN (another tenant), SUBJECT_NOT_FOUND (no key ever).
 */
export async function eraseSubjectKey(deps: EraseSubjectKeyDependencies, by: Principal, subject: string, correlationId?: string): Promise<{ erased: string[] }> {
  const { tenant } = parseSubject(subject);
  if (tenant !== by.tenant && !by.crossTenant) throw new ForbiddenError(`subject ${subject} is outside your tenant`, { field: 'subject' });
  const out = await deps.subjectKeys.erase(subject);
  if (!out.known) throw new SubjectNotFoundError(subject);
  for (const kid of [...out.before, ...out.erased]) {
    const data = catalog.validate('SubjectKeyErased', 1, { kid });
    const e = createEvent({ type: 'SubjectKeyErased', stream: subjectKeyStream(kid), tenant, actor: by.actor, correlationId, data }, deps.clock);
    await deps.store.append(e.stream, [e], { expectedRevision: 'no_stream' }).catch((err: unknown) => {
      // Recorded already (by the first request, or a repeat): the log says so once.
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
    });
  }
  return { erased: out.erased };
}
