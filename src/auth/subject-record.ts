import type { Principal } from './principal';
import { ForbiddenError } from './errors';
import type { EventStore } from '../eventstore/port';
import { SubjectNotFoundError } from '../erasure/errors';
import { parseSubject } from '../erasure/subject';
import type { SubjectKeyRecord, SubjectKeyStore } from '../erasure/subject-key-store';
import { subjectKeyStream } from './erase-subject-key';

export type SubjectRecordDependencies = { store: EventStore; subjectKeys: SubjectKeyStore };

/** A key's erasure as the log records it: the SubjectKeyErased event, whose proof (GET /v1/events/:id/proof) shows it. */
export type KeyErasure = { eventId: string; stream: string; occurredAt: string };

/** What GET /v1/subjects/:subject answers: every data key the subject has had, oldest first. */
export type SubjectRecordReturnType = { subject: string; keys: (SubjectKeyRecord & { erasure?: KeyErasure })[] };

/**
 * What a data protection officer is told of a subject (`<tenant>:<kind>:<actor id>`, parseSubject):
 * each of its data keys, when it was made, when erased, and the SubjectKeyErased event that records
 * the erasure. A key with `erasedAt` but no `erasure` was deleted while its record failed to append:
 * erasing the subject again records it. Scoped as eraseSubjectKey: an admin of the subject's tenant
 * or a cross-tenant one.
 * Throws VALIDATION_FAILED (malformed id), FORBIDDEN (another tenant), SUBJECT_NOT_FOUND (no key ever).
 * @example await subjectRecord(deps, admin, 'acme:user:0193…') // { subject, keys: [{ kid, createdAt, erasedAt, erasure }] }
 */
export async function subjectRecord(deps: SubjectRecordDependencies, by: Principal, subject: string): Promise<SubjectRecordReturnType> {
  const { tenant } = parseSubject(subject);
  if (tenant !== by.tenant && !by.crossTenant) throw new ForbiddenError(`subject ${subject} is outside your tenant`, { field: 'subject' });
  const keys = await deps.subjectKeys.keysOf(subject);
  if (!keys.length) throw new SubjectNotFoundError(subject);
  return {
    subject,
    keys: await Promise.all(
      keys.map(async (k) => {
        if (!k.erasedAt) return k;
        const stream = subjectKeyStream(k.kid);
        const e = (await deps.store.readStream(stream)).find((x) => x.type === 'SubjectKeyErased');
        return e ? { ...k, erasure: { eventId: e.id, stream, occurredAt: e.occurredAt } } : k;
      }),
    ),
  };
}
