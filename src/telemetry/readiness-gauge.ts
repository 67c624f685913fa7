import { Gauge, type Registry } from 'prom-client';
import { READINESS_CHECK_TIMEOUT_MS, runReadinessCheck, type ReadinessCheck } from './readiness-check';

export const DEPENDENCY_UP_METRIC = 'openmcp_dependency_up';

const VALUE = { up: 1, degraded: 0.5, down: 0 } as const;

/**
 * `openmcp_dependency_up{dependency}`: 1 up, 0.5 degraded, 0 down (or the check threw, or gave no
 * answer in READINESS_CHECK_TIMEOUT_MS), run at scrape time as /readyz runs them
 * (runReadinessCheck), so an alert can name the failing dependency.
 * @example trackDependencies(registry, readiness)
 */
export function trackDependencies(registry: Registry, checks: ReadinessCheck[]): void {
  if (registry.getSingleMetric(DEPENDENCY_UP_METRIC)) registry.removeSingleMetric(DEPENDENCY_UP_METRIC);
  new Gauge({
    name: DEPENDENCY_UP_METRIC,
    help: `Readiness of each dependency as /readyz reports it: 1 up, 0.5 degraded, 0 down (no answer in ${READINESS_CHECK_TIMEOUT_MS / 1000} s included).`,
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const answers = await Promise.all(checks.map((c) => runReadinessCheck(c)));
      checks.forEach((c, i) => this.set({ dependency: c.name }, VALUE[answers[i].state]));
    },
  });
}
