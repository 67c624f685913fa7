/** Cache keys of the read side (the Cache adds its own prefix). */
export const taskCacheKey = (taskId: string) => `rm:task:${taskId}`;
export const toolCatalogCacheKey = (tenant: string) => `rm:tools:${tenant}`;

/**
 * Entries expire so that Redis does not keep every task ever run; the projector rewrites an entry
 * on every change, so expiry never makes a read stale, it only turns a hit into a miss.
 */
export const READ_CACHE_TTL_MS = 60 * 60 * 1000;
