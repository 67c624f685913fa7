import type { Hex } from '../core/hex';

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
