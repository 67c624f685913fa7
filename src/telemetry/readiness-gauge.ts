import { Gauge, type Registry } from 'prom-client';

export const DEPENDENCY_UP_METRIC = 'openmcp_dependency_up';

/** The shape of src/api's ReadinessCheck, restated so metrics do not depend on the API layer. */
export type DependencyCheck = { name: string; check(): Promise<{ state: 'up' | 'down' | 'degraded' }> };

const VALUE = { up: 1, degraded: 0.5, down: 0 } as const;

/** A check with no answer by then is down, as /readyz says (its CHECK_TIMEOUT_MS). */
const CHECK_TIMEOUT_MS = 2000;

function answerOf(c: DependencyCheck): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(VALUE.down), CHECK_TIMEOUT_MS)).unref());
  const answer = (async () => c.check())().then((r) => VALUE[r.state], () => VALUE.down);
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/**
 * `openmcp_dependency_up{dependency}`: 1 up, 0.5 degraded, 0 down (or the check threw, or gave no
 * answer in 2 s), from the same checks as /readyz, run at scrape time, so an alert can name the
 * failing dependency. A hung dependency (a frozen database) must not hold the scrape past
 * Prometheus' timeout, which would lose every metric of the process.
 * @example trackDependencies(registry, readiness)
 */
export function trackDependencies(registry: Registry, checks: DependencyCheck[]): void {
  if (registry.getSingleMetric(DEPENDENCY_UP_METRIC)) registry.removeSingleMetric(DEPENDENCY_UP_METRIC);
  new Gauge({
    name: DEPENDENCY_UP_METRIC,
    help: 'Readiness of each dependency as /readyz reports it: 1 up, 0.5 degraded, 0 down (no answer in 2 s included).',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const states = await Promise.all(checks.map(answerOf));
      checks.forEach((c, i) => this.set({ dependency: c.name }, states[i]));
    },
  });
}
