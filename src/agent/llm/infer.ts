import type { Cache } from '../../cache/port';
import type { Hex } from '../../core/hex';
import { payloadDigest } from '../../mcp/payload-hash';
import type { Completion, CompletionRequest, LlmClient } from './port';
import { wellFormed } from '../../core/well-formed';

export type InferResult = { completion: Completion; cached: boolean; latencyMs: number; promptHash: Hex };

/** What the answer depends on: model, messages, tools and sampling. JCS, so floats in schemas are fine. */
export function promptDigest(req: CompletionRequest): { hash: Hex; messagesJson: string } {
  const { model, messages, tools, temperature, maxTokens } = req;
  return { hash: payloadDigest({ model, messages, tools, temperature, maxTokens }).hash, messagesJson: payloadDigest(messages).json };
}

/** Where the response cache keeps the answer to a prompt (per tenant: see infer). */
export function responseCacheKey(tenant: string, model: string, promptHash: string): string {
  return `llm:response:${tenant}:${model}:${promptHash}`;
}

/**
 * One model call through the response cache (Redis in production, in-memory in the embedded
 * default), keyed by tenant and prompt hash: the same model, messages, tools and sampling get the
 * same answer without a provider call. Only cacheable when temperature is 0 (otherwise a repeat is
 * not expected to be the same answer). Per tenant, because a hit is recorded (`cached: true`):
 * shared, it told one tenant that another had sent the same prompt.
 * The completion is well-formed text (wellFormed: a lone UTF-16 surrogate replaced with U+FFFD).
 */
export async function infer(deps: { llm: LlmClient; tenant: string; cache?: Cache; cacheTtlMs?: number }, req: CompletionRequest): Promise<InferResult> {
  const { hash } = promptDigest(req);
  const key = responseCacheKey(deps.tenant, req.model, hash);
  const useCache = deps.cache && req.temperature === 0 && (deps.cacheTtlMs ?? 1) > 0;
  const t0 = Date.now();
  if (useCache) {
    const hit = await deps.cache!.get(key).catch(() => undefined);
    if (hit) return { completion: wellFormed(JSON.parse(hit) as Completion), cached: true, latencyMs: Date.now() - t0, promptHash: hash };
  }
  // The model's text well-formed where it enters (a lone surrogate replaced with U+FFFD, see
  // wellFormed): what the task acts on, answers and records (InferenceCompleted, answerHash) is the same.
  const completion = wellFormed(await deps.llm.complete(req));
  const latencyMs = Date.now() - t0;
  if (useCache) await deps.cache!.set(key, JSON.stringify(completion), deps.cacheTtlMs ?? 24 * 3_600_000).catch(() => {});
  return { completion, cached: false, latencyMs, promptHash: hash };
}
