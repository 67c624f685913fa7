/** How long the LLM response cache keeps an answer when nothing says otherwise (LLM_REDACTION=store). */
export const LLM_CACHE_DEFAULT_TTL_MS = 86_400_000;

/**
 * How long the LLM response cache keeps an answer; 0 = the cache is off (neither read nor
 * written). `llmCacheTtlMs` (LLM_CACHE_TTL_MS) when the operator set it; else 24 hours, or 0
 * under LLM_REDACTION=hash-only: the cache holds each answer whole, and an operator who asked
 * that no answer be kept expects none in Redis either. Setting LLM_CACHE_TTL_MS under hash-only is
 * the operator's explicit choice (a resumed run can then replay a turn whole: docs/agent.md).
 *
 * @example responseCacheTtlMs({ redaction: 'hash-only' }) // 0
 * @example responseCacheTtlMs({ redaction: 'hash-only', llmCacheTtlMs: 600_000 }) // 600000
 */
export function responseCacheTtlMs(o: { redaction: 'store' | 'hash-only'; llmCacheTtlMs?: number }): number {
  return o.llmCacheTtlMs ?? (o.redaction === 'hash-only' ? 0 : LLM_CACHE_DEFAULT_TTL_MS);
}
