import type { Cache } from '../../cache/port';
import type { Hex } from '../../core/hex';
import { payloadDigest } from '../../mcp/payload-hash';
import type { Completion, CompletionRequest, LlmClient } from './port';
import { wellFormed } from '../../core/well-formed';
import { keyErasedNow } from '../../erasure/cached-subject-keys';
import type { SubjectKeyStore } from '../../erasure/subject-key-store';

/** `promptJson`: the canonical JSON `promptHash` is the SHA-256 of (promptDigest), for a salted hash of the same prompt. */
export type InferResult = { completion: Completion; cached: boolean; latencyMs: number; promptHash: Hex; promptJson: string };

/** What the answer depends on: model, messages, tools and sampling, as canonical JSON (JCS, so floats in schemas are fine) and its SHA-256. */
export function promptDigest(req: CompletionRequest): { hash: Hex; json: string } {
  const { model, messages, tools, temperature, maxTokens } = req;
  return payloadDigest({ model, messages, tools, temperature, maxTokens });
}

export { responseCacheKey, saltedPromptCacheKey, savedPrompt, type SavedPrompt } from '../../cache/llm-response-keys';
import { responseCacheKey, saltedPromptCacheKey, type SavedPrompt } from '../../cache/llm-response-keys';

type CacheDeps = { tenant: string; cache?: Cache; cacheTtlMs?: number };

/**
 * What the response cache keeps under responseCacheKey: the completion, and, for an answer to a
 * turn whose prompt is salted under a subject's data key (InferenceCompleted v8), that key's id
 * (`kid`), so that a hit whose key is erased by then is not served (infer). An entry of an earlier
 * release names no key.
 */
type CachedAnswer = Completion & { kid?: string };

/** How long an answer is cached when no LLM_CACHE_TTL_MS is given. */
const DEFAULT_TTL_MS = 24 * 3_600_000;

/** Whether infer keeps answers to this prompt in the response cache: a cache, LLM_CACHE_TTL_MS not 0, and temperature 0. */
export function cachesResponses(deps: CacheDeps, req: Pick<CompletionRequest, 'temperature'>): boolean {
  return deps.cache !== undefined && req.temperature === 0 && (deps.cacheTtlMs ?? 1) > 0;
}

/**
 * Keep in the response cache, beside the answer to a turn's prompt and as long, which entry (the
 * model asked for and the plain prompt hash `promptHash`) its salted hash (`saltedHash`,
 * InferenceCompleted v8) stands for, so that a resumed run finds the cached answer from what the
 * log records, and an erasure of the submitter's key removes it (the plain hash is in the cache
 * only, never in the log). Best effort, as the cache is: a failed write is a later miss.
 * Nothing when infer caches no answer to it (cachesResponses).
 */
export async function rememberSaltedPrompt(deps: CacheDeps, req: Pick<CompletionRequest, 'model' | 'temperature'>, promptHash: string, saltedHash: string): Promise<void> {
  if (!cachesResponses(deps, req)) return;
  const saved: SavedPrompt = { model: req.model, promptHash: promptHash as Hex };
  await deps.cache!.set(saltedPromptCacheKey(deps.tenant, saltedHash), JSON.stringify(saved), deps.cacheTtlMs ?? DEFAULT_TTL_MS).catch(() => {});
}

/**
 * One model call through the response cache (Redis in production, in-memory in the embedded
 * default), keyed by tenant and prompt hash: the same model, messages, tools and sampling get the
 * same answer without a provider call. Only cacheable when temperature is 0 (otherwise a repeat is
 * not expected to be the same answer). Per tenant, because a hit is recorded (`cached: true`):
 * shared, it told one tenant that another had sent the same prompt.
 * `kid`: the data key this turn's prompt is salted under (InferenceCompleted v8), kept beside the
 * answer a miss caches. A hit whose answer names a key is served only once the key store itself
 * (keyErasedNow, not a process's key cache; with `subjectKeys`) says that key is not erased: an
 * answer cached for a turn whose subject was erased meanwhile (its worker takes it out only once it
 * has recorded the turn, forgetTurnIfErased) is a miss, asked of the model, never a `cached: true`
 * telling another submitter of the tenant that the erased subject sent that prompt. A key store
 * that cannot say, or none given, counts as erased (a miss). One key store read per such hit.
 * The completion is well-formed text (wellFormed: a lone UTF-16 surrogate replaced with U+FFFD).
 */
export async function infer(deps: { llm: LlmClient; subjectKeys?: SubjectKeyStore } & CacheDeps, req: CompletionRequest, o: { kid?: string } = {}): Promise<InferResult> {
  const { hash, json } = promptDigest(req);
  const key = responseCacheKey(deps.tenant, req.model, hash);
  const useCache = cachesResponses(deps, req);
  const t0 = Date.now();
  if (useCache) {
    const hit = await deps.cache!.get(key).catch(() => undefined);
    if (hit) {
      const { kid, ...completion } = wellFormed(JSON.parse(hit) as CachedAnswer);
      // No key store to ask counts as erased too: never served unchecked.
      const erased = kid !== undefined && (deps.subjectKeys === undefined || (await keyErasedNow(deps.subjectKeys, kid).catch(() => true)));
      if (!erased) return { completion, cached: true, latencyMs: Date.now() - t0, promptHash: hash, promptJson: json };
    }
  }
  // The model's text well-formed where it enters (a lone surrogate replaced with U+FFFD, see
  // wellFormed): what the task acts on, answers and records (InferenceCompleted, answerHash) is the same.
  const completion = wellFormed(await deps.llm.complete(req));
  const latencyMs = Date.now() - t0;
  if (useCache) {
    const entry: CachedAnswer = o.kid === undefined ? completion : { ...completion, kid: o.kid };
    await deps.cache!.set(key, JSON.stringify(entry), deps.cacheTtlMs ?? DEFAULT_TTL_MS).catch(() => {});
  }
  return { completion, cached: false, latencyMs, promptHash: hash, promptJson: json };
}
