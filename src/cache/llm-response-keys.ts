import type { Hex } from '../core/hex';
import type { Cache } from './port';

/*
 * The LLM response cache's keys (src/agent/llm/infer.ts writes them; an erasure takes a subject's
 * out, src/auth/forget-cached-turns.ts): here, below both, so neither reaches up to the other.
 */

/** Where the response cache keeps the answer to a prompt (per tenant: see infer). */
export function responseCacheKey(tenant: string, model: string, promptHash: string): string {
  return `llm:response:${tenant}:${model}:${promptHash}`;
}

/**
 * Where the response cache keeps, for a turn whose log records its promptHash salted
 * (InferenceCompleted v8), which entry its answer is cached under (responseCacheKey: the model the
 * worker asked for and the plain SHA-256, savedPrompt): the log no longer names that entry, and the
 * plain hash is kept out of it (see rememberSaltedPrompt). Not keyed by the model: the salted hash
 * names one turn (its salt is its own), and the model the event records is the provider's name for
 * it (`gpt-4o-2024-08-06` for `gpt-4o`), not the one the answer is cached under, so an erasure finds
 * the entry from what the log records (forgetCachedTurns).
 */
export function saltedPromptCacheKey(tenant: string, saltedPromptHash: string): string {
  return `llm:prompt:${tenant}:${saltedPromptHash}`;
}

/** What a salted prompt's entry (saltedPromptCacheKey) holds: where the turn's answer is cached (responseCacheKey's model and hash). */
export type SavedPrompt = { model: string; promptHash: Hex };

/** A salted prompt's entry read back, or undefined for anything else (an entry of an earlier form, a value not written here). */
export function savedPrompt(value: string | undefined): SavedPrompt | undefined {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as Partial<SavedPrompt>;
    return typeof v.model === 'string' && typeof v.promptHash === 'string' && /^0x[0-9a-f]{64}$/.test(v.promptHash) ? { model: v.model, promptHash: v.promptHash as Hex } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take out of `cache` the entries of `tenant`'s turns whose salted promptHashes (InferenceCompleted
 * v8) are given: each pointer (saltedPromptCacheKey) and the answer it names (responseCacheKey).
 * What an erasure does for a subject's turns (forgetCachedTurns) and a resumed run for its task's
 * (forgetErasedTurns). Returns how many keys went. Throws what the cache throws. Idempotent.
 * @example await forgetSaltedPrompts(cache, 'acme', ['0x…']) // 2
 */
export async function forgetSaltedPrompts(cache: Cache, tenant: string, saltedHashes: readonly string[]): Promise<number> {
  const pointers = [...new Set(saltedHashes)].map((h) => saltedPromptCacheKey(tenant, h));
  if (!pointers.length) return 0;
  const saved = await Promise.all(pointers.map((k) => cache.get(k)));
  const keys = new Set<string>();
  for (const [i, k] of pointers.entries()) {
    if (saved[i] === undefined) continue;
    keys.add(k);
    const s = savedPrompt(saved[i]);
    if (s) keys.add(responseCacheKey(tenant, s.model, s.promptHash));
  }
  if (keys.size) await cache.del(...keys);
  return keys.size;
}

/** One turn's two entries (InferenceCompleted v8): its salted promptHash's pointer and the answer it names (the model asked for and the plain hash). */
export type TurnCacheEntries = { model: string; promptHash: string; saltedHash: string };

/**
 * Take out of `cache` one turn's two entries, the pointer and the answer, whether or not the
 * pointer was written (rememberSaltedPrompt is best effort): what a worker does for a turn it
 * recorded whose key is erased by then (forgetTurnIfErased) and for a turn it could not record
 * (refused, or its task ended meanwhile), which no event names. Throws what the cache throws. Idempotent.
 * @example await forgetTurnEntries(cache, 'acme', { model: 'gpt-4o', promptHash: '0x…', saltedHash: '0x…' })
 */
export async function forgetTurnEntries(cache: Cache, tenant: string, turn: TurnCacheEntries): Promise<void> {
  await cache.del(saltedPromptCacheKey(tenant, turn.saltedHash), responseCacheKey(tenant, turn.model, turn.promptHash));
}
