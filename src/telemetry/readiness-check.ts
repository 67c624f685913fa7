import { redactUrlsIn } from '../core/errors';

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
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)).unref());
  try {
    const r = await Promise.race([(async () => c.check())(), late]);
    return { state: r.state, ...(r.detail ? { detail: r.detail } : {}) };
  } catch (err) {
    return { state: 'down', detail: redactUrlsIn(String((err as Error)?.message ?? err)).slice(0, 300) };
  } finally {
    clearTimeout(timer);
  }
}
