/**
 * Cache keys of the read side (the Cache adds its own prefix). Each carries the read cache's
 * epoch (cache-epoch.ts): raising it retires every entry at once. Epoch 0 has the keys of the
 * releases before the epoch (`rm:task:<id>`), so old and new processes share their entries during
 * a rolling upgrade until the epoch is first raised.
 */
const space = (epoch: number) => (epoch === 0 ? 'rm' : `rm:${epoch}`);
export const taskCacheKey = (epoch: number, taskId: string) => `${space(epoch)}:task:${taskId}`;
export const toolCatalogCacheKey = (epoch: number, tenant: string) => `${space(epoch)}:tools:${tenant}`;

/**
 * Entries expire so that Redis does not keep every task ever run; the projector rewrites an entry
 * on every change, so expiry never makes a read stale, it only turns a hit into a miss.
 */
export const READ_CACHE_TTL_MS = 60 * 60 * 1000;
