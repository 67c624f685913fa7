import { catalog } from '../../events';
import type { Principal } from '../auth/principal';
import { ForbiddenError } from '../auth/errors';
import type { Clock } from '../core/clock';
import { createEvent } from '../core/envelope';
import { WrongExpectedRevisionError } from '../core/errors';
import type { EventStore } from '../eventstore/port';
import { SubjectNotFoundError } from './errors';
import { parseSubject } from './subject';
import type { SubjectKeyStore } from './subject-key-store';

export type EraseSubjectKeyDependencies = { store: EventStore; subjectKeys: SubjectKeyStore; clock?: Clock };

/** The stream of a key's erasure: named by the key, never by its subject. */
export const subjectKeyStream = (kid: string): string => `subject-${kid}`;

/**
 * Erase a subject's data key (`subject`: `<tenant>:<kind>:<actor id>`, parseSubject), by an admin
 * of its tenant or a cross-tenant one: every payload sealed with it becomes unreadable for good,
 * while the events and their proofs stay valid. Then records SubjectKeyErased on `subject-<kid>`.
 * Idempotent: a subject whose key is already erased records nothing more. The key goes first
 * (fail closed): should the append then fail, the error is answered and the key is gone anyway;
 * the operator's log names the kid.
 * Throws VALIDATION_FAILED (malformed id), FORBIDDEN (another tenant), SUBJECT_NOT_FOUND (no key ever).
 */
export async function eraseSubjectKey(deps: EraseSubjectKeyDependencies, by: Principal, subject: string, correlationId?: string): Promise<{ erased: string[] }> {
  const { tenant } = parseSubject(subject);
  if (tenant !== by.tenant && !by.crossTenant) throw new ForbiddenError(`subject ${subject} is outside your tenant`, { field: 'subject' });
  const out = await deps.subjectKeys.erase(subject);
  if (!out.known) throw new SubjectNotFoundError(subject);
  for (const kid of out.erased) {
    const data = catalog.validate('SubjectKeyErased', 1, { kid });
    const e = createEvent({ type: 'SubjectKeyErased', stream: subjectKeyStream(kid), tenant, actor: by.actor, correlationId, data }, deps.clock);
    await deps.store.append(e.stream, [e], { expectedRevision: 'no_stream' }).catch((err: unknown) => {
      // Already recorded (a retried request after a lost answer): the log says so once.
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
    });
  }
  return { erased: out.erased };
}
