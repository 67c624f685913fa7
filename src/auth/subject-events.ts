import type { Actor } from '../core/envelope';
import type { Principal } from './principal';
import { ForbiddenError } from './errors';
import { parseSubject } from '../erasure/subject';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import type { ReadModels, SubjectEventsPage } from '../readmodels/port';

type ListSubjectEvents = NonNullable<ReadModels['listSubjectEvents']>;

/** `listSubjectEvents`: the read models' (SqlReadModels); `subjectKeys` absent: no subject has keys. */
export type SubjectEventsDependencies = { listSubjectEvents: ListSubjectEvents; subjectKeys?: SubjectKeyStore };

/**
 * One page of a data subject's events (`<tenant>:<kind>:<actor id>`, parseSubject), for an access
 * request: of its tenant, those whose actor it is, those of its API key's stream (`apikey-<actor
 * id>`), those sealed under one of the data keys it has had, and those keys' SubjectKeyErased, in
 * position order, from the subject index (GET /v1/subjects/:subject/events). A subject that never
 * had a key (or no key store: MCP_PAYLOAD_POLICY=store) has only the first two. Scoped as
 * subjectRecord: an admin of the subject's tenant or a cross-tenant one.
 * Throws VALIDATION_FAILED (malformed id, limit, after), FORBIDDEN (another tenant).
 * @example await subjectEvents(deps, admin, 'acme:user:0193…', { limit: 100 }) // { items, nextCursor?, held? }
 */
export async function subjectEvents(deps: SubjectEventsDependencies, by: Principal, subject: string, page: { after?: number; limit: number }): Promise<SubjectEventsPage> {
  const { tenant, ...filter } = await subjectOfEvents(deps, by, subject);
  return deps.listSubjectEvents(tenant, { ...filter, ...page });
}

/**
 * What names a data subject's events (subjectEvents): its tenant, its actor and the data keys it
 * has had, once `by` may read them. Throws as subjectEvents.
 * @example await subjectOfEvents(deps, admin, 'acme:user:0193…') // { tenant: 'acme', actor, kids: ['0193…'] }
 */
export async function subjectOfEvents(deps: Pick<SubjectEventsDependencies, 'subjectKeys'>, by: Principal, subject: string): Promise<{ tenant: string; actor: Actor; kids: string[] }> {
  const { tenant, actor } = parseSubject(subject);
  if (tenant !== by.tenant && !by.crossTenant) throw new ForbiddenError(`subject ${subject} is outside your tenant`, { field: 'subject' });
  const kids = deps.subjectKeys ? (await deps.subjectKeys.keysOf(subject)).map((k) => k.kid) : [];
  return { tenant, actor, kids };
}
