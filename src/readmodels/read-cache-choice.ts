import type { Cache } from '../cache/port';

export type ReadCacheChoiceParameters = {
  cache: Cache;
  /** True when the cache is shared by every process (Redis): every projector keeps it current. */
  shared: boolean;
  /** True when a projector in this process applies every event (in-process bus, not a Kafka group member). */
  projectorSeesEveryEvent: boolean;
};

/**
 * The cache the read models may read through, or undefined to read SQL only.
 * A cached read is kept current by whoever projects the change: a shared cache by every
 * projector, a process's own cache only by its own projector. So a per-process cache is used
 * only when this process projects every event itself; an API process next to projectors running
 * elsewhere (or one Kafka group member among several) would otherwise serve a task as it was
 * when first read, for the whole TTL of an hour.
 * @example readCacheFor({ cache, shared: Boolean(config.REDIS_URL), projectorSeesEveryEvent: roles.projector && !brokers })
 */
export function readCacheFor(p: ReadCacheChoiceParameters): Cache | undefined {
  return p.shared || p.projectorSeesEveryEvent ? p.cache : undefined;
}
