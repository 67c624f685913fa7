import type { Cache } from '../../cache/port';
import { forgetTurnEntries, type TurnCacheEntries } from '../../cache/llm-response-keys';
import { keyErasedNow } from '../../erasure/cached-subject-keys';
import type { SubjectKeyStore } from '../../erasure/subject-key-store';

export type ForgetTurnIfErasedDependencies = { tenant: string; cache: Cache; subjectKeys: SubjectKeyStore };

/** A recorded turn's entries in the response cache: the key its salts are sealed under, and what rememberSaltedPrompt and infer wrote. */
export type CachedTurnEntries = TurnCacheEntries & { kid: string };

/**
 * Once a hash-only turn whose salted promptHash (InferenceCompleted v8) is sealed under `kid` is
 * recorded, and its entries are in the LLM response cache (the answer, infer; the pointer naming
 * it, rememberSaltedPrompt): should `kid` be erased by now, take both out, as the erasure does for
 * the turns it finds (forgetCachedTurns). Read from the key store itself (keyErasedNow), not this
 * process's key cache, which keeps a key another process erased for up to 30 s.
 *
 * Why this closes the race with an erasure (eraseSubjectKey: the key erased, then its record
 * appended, the log's head read, the subject index awaited up to that head, then the turns' entries
 * read and deleted): both entries were written before the turn's event was appended, and this runs
 * after. Either the event's position is at most the erasure's head, and the erasure finds the turn
 * in the subject index with its entries already there; or it is past it, so the append ended after
 * the erasure read its head, after it erased the key, and the read here sees the key erased. A key
 * store that cannot be read counts as erased (the entries go: a later miss, not an answer kept
 * for an erased subject). Throws what the cache throws. Idempotent.
 * @example await forgetTurnIfErased({ tenant: 'acme', cache, subjectKeys }, { kid, model: 'gpt-4o', promptHash, saltedHash }) // 'removed'
 */
export async function forgetTurnIfErased(deps: ForgetTurnIfErasedDependencies, turn: CachedTurnEntries): Promise<'kept' | 'removed'> {
  const erased = await keyErasedNow(deps.subjectKeys, turn.kid).catch(() => true);
  if (!erased) return 'kept';
  await forgetTurnEntries(deps.cache, deps.tenant, turn);
  return 'removed';
}
