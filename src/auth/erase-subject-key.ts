import { setTimeout } from 'node:timers/promises';
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
import { forgetCachedTurns, type ForgetCachedTurnsDependencies } from './forget-cached-turns';
import { UnavailableError } from '../core/errors';

export type EraseSubjectKeyDependencies = {
  store: EventStore;
  subjectKeys: SubjectKeyStore;
  clock?: Clock;
  /**
   * The LLM response cache and the read models' listSealedTurns: the subject's turns are taken out
   * of it (forgetCachedTurns), once the read models applied the log as it was at the erasure
   * (`waitForPosition`, up to `waitMs`). Absent: left to expire.
   */
  cachedTurns?: ForgetCachedTurnsDependencies & {
    waitForPosition(position: number, timeoutMs: number): Promise<boolean>;
    /** ReadModels.subjectIndexedThrough: every position up to the head, not the head alone, indexed (a lagging Kafka partition). */
    indexedThrough?(tenant: string): Promise<number | undefined>;
    waitMs: number;
  };
  /** Told (at warn) when the cache could not be cleared. */
  logger?: { warn(obj: object, msg: string): void };
};

/** The stream of a key's erasure: named by the key, never by its subject. */
export const subjectKeyStream = (kid: string): string => `subject-${kid}`;

/**
 * Erase a subject's data key (`subject`: `<tenant>:<kind>:<actor id>`, parseSubject), by an admin
 * of its tenant or a cross-tenant one: every payload sealed with it becomes unreadable for good,
 * while the events and their proofs stay valid, and records SubjectKeyErased on `subject-<kid>`.
 * Idempotent, and a repeat completes the record: the key goes first (fail closed: asked to erase,
 * the data becomes unreadable whatever happens next), then each of the subject's erased keys, now
 * or before, is recorded once (`no_stream`). Should the append fail, the error is answered and the
 * key is gone anyway; the same request again records it. Then the subject's turns (those sealed
 * under any of its keys, now or before) are taken out of the LLM response cache (forgetCachedTurns,
 * with `cachedTurns`): should that fail, it is logged at warn and answered DEPENDENCY_UNAVAILABLE
 * (the key erased and recorded), so that whoever erases knows the cache may still hold them until
 * they expire; the same request again takes them out.
 * Throws VALIDATION_FAILED (malformed id), FORBIDDEN (another tenant), SUBJECT_NOT_FOUND (no key
 * ever), DEPENDENCY_UNAVAILABLE (the log, or the cache or read models while clearing it).
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
  if (deps.cachedTurns) await forgetSubjectTurns(deps, subject, tenant, [...out.before, ...out.erased]);
  return { erased: out.erased };
}

/**
 * forgetCachedTurns for an erased subject (eraseSubjectKey), once the read models hold every turn
 * the log held then (a turn recorded just before the erasure is in the subject index only once
 * projected); should they not within `waitMs`, what they hold is taken out, and the rest answered
 * as a failure. A failure is logged and answered. A turn appended after the head read here is not
 * found, and needs not be: its worker, once it recorded it, sees the key erased (erased before the
 * head is read) and takes its entries out (forgetTurnIfErased).
 */
async function forgetSubjectTurns(deps: EraseSubjectKeyDependencies, subject: string, tenant: string, kids: string[]): Promise<void> {
  const c = deps.cachedTurns!;
  const failed = (why: string, err?: unknown): never => {
    deps.logger?.warn({ err, subject, kids }, `subject's key erased, but its turns were not all taken out of the LLM response cache (${why}): they expire with LLM_CACHE_TTL_MS; erase the key again to take them out`);
    throw new UnavailableError(
      'LLM response cache',
      `the data key of ${subject} is erased and the erasure recorded, but its model turns were not all taken out of the LLM response cache (${why}): until they expire (LLM_CACHE_TTL_MS) the cache can confirm a guessed prompt of theirs; send the same DELETE again to take them out`,
      err,
    );
  };
  const head = await deps.store.headPosition().catch((err: unknown) => failed(`the log's head: ${messageOf(err)}`, err));
  let checkFailed: unknown;
  const applied = head < 0 || (await caughtUp(c, tenant, head).catch((err: unknown) => ((checkFailed = err), false)));
  await forgetCachedTurns(c, tenant, kids).catch((err: unknown) => failed(messageOf(err), err));
  if (checkFailed !== undefined) failed(`whether the read models applied the log up to position ${head}: ${messageOf(checkFailed)}`, checkFailed);
  if (!applied) failed(`the read models had not applied the log up to position ${head} within ${c.waitMs} ms, so turns recorded just before the erasure may not be found yet`);
}

/**
 * Whether the subject index holds every event up to `head` within `waitMs`: the head applied
 * (waitForPosition, told by this process's projector), then every position before it
 * (indexedThrough, polled: under Kafka each partition is applied on its own, so the erasure's own
 * event can be applied before a turn recorded just before it).
 */
async function caughtUp(c: NonNullable<EraseSubjectKeyDependencies['cachedTurns']>, tenant: string, head: number): Promise<boolean> {
  const deadline = Date.now() + c.waitMs;
  if (!(await c.waitForPosition(head, c.waitMs))) return false;
  if (!c.indexedThrough) return true;
  for (;;) {
    const through = await c.indexedThrough(tenant);
    if (through === undefined || through >= head) return true;
    if (Date.now() >= deadline) return false;
    await setTimeout(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

/** How often caughtUp asks whether a lagging partition caught up. */
const POLL_MS = 50;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
