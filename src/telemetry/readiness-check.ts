import { redactUrlsIn } from '../core/errors';
import { NO_ANSWER, within } from '../core/within';

export type ReadinessAnswer = { state: 'up' | 'down' | 'degraded'; detail?: string };

/** One dependency as /readyz and `openmcp_dependency_up` report it. */
export type ReadinessCheck = { name: string; check(): Promise<ReadinessAnswer> };

/**
 * A check with no answer by then is down: a hung dependency (a frozen database) must neither hold
 * /readyz nor a Prometheus scrape (which would lose every metric of the process).
 */
export const READINESS_CHECK_TIMEOUT_MS = 2000;

/**
 * Run one check; never throws. A check that throws, or gives no answer in
 * READINESS_CHECK_TIMEOUT_MS, is down with its message as the detail (URLs without credentials:
 * /readyz is public).
 * @example const { state, detail } = await runReadinessCheck({ name: 'db', check: async () => ({ state: 'up' }) });
 */
export async function runReadinessCheck(c: ReadinessCheck, timeoutMs = READINESS_CHECK_TIMEOUT_MS): Promise<ReadinessAnswer> {
  try {
    const r = await within(timeoutMs, (async () => c.check())());
    if (r === NO_ANSWER) throw new Error(`no answer in ${timeoutMs} ms`);
    return { state: r.state, ...(r.detail ? { detail: r.detail } : {}) };
  } catch (err) {
    return { state: 'down', detail: redactUrlsIn(String((err as Error)?.message ?? err)).slice(0, 300) };
  }
}

/**
 * A dependency the process serves without, less well (a cache, the anchoring chain): when its
 * check fails, throws or does not answer in time, it is `degraded` (/readyz still 200, the gauge
 * 0.5) with `consequence` said after the reason, not `down`, which would take every replica out of
 * its load balancer at once over a dependency none of them needs to answer.
 * @example softReadinessCheck({ name: 'cache (redis)', check }, 'REST answers from SQL; /mcp sessions cannot be opened')
 */
export function softReadinessCheck(c: ReadinessCheck, consequence: string, timeoutMs = READINESS_CHECK_TIMEOUT_MS - 250): ReadinessCheck {
  return {
    name: c.name,
    async check() {
      const r = await runReadinessCheck(c, timeoutMs);
      return r.state === 'down' ? { state: 'degraded', detail: `${r.detail ?? 'down'}; ${consequence}` } : r;
    },
  };
}

/**
 * `c`, run at most once per `reuseMs` (default 1 s) whoever asks: calls while a run is under way
 * wait for it, and its answer (or failure) serves the calls of the next `reuseMs` too. /readyz and
 * /metrics are public, and each of their requests ran every check: a client that sent requests
 * without pause made as many calls to the chain RPC (a paid provider's quota), the LLM endpoint,
 * the database and the cache. Shared, it makes about one a second, and an answer is at most that
 * old. `now` is for tests.
 * @example readiness.map((c) => sharedReadinessCheck(c))
 */
export function sharedReadinessCheck(c: ReadinessCheck, o: { reuseMs?: number; now?: () => number } = {}): ReadinessCheck {
  const reuseMs = o.reuseMs ?? 1000;
  const now = o.now ?? Date.now;
  let last: { at: number; answer: Promise<ReadinessAnswer> } | undefined;
  return {
    name: c.name,
    check() {
      const t = now();
      if (!last || t - last.at > reuseMs) {
        // Started at once, so calls while it runs share it; its age counts from the start.
        const answer = (async () => c.check())();
        answer.catch(() => {});
        last = { at: t, answer };
      }
      return last.answer;
    },
  };
}
