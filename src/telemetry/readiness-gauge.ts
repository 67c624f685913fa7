import { Gauge, type Registry } from 'prom-client';

export const DEPENDENCY_UP_METRIC = 'openmcp_dependency_up';

/** The shape of src/api's ReadinessCheck, restated so metrics do not depend on the API layer. */
export type DependencyCheck = { name: string; check(): Promise<{ state: 'up' | 'down' | 'degraded' }> };

const VALUE = { up: 1, degraded: 0.5, down: 0 } as const;

/**
 * `openmcp_dependency_up{dependency}`: 1 up, 0.5 degraded, 0 down (or the check threw), from the
 * same checks as /readyz, run at scrape time, so an alert can name the failing dependency.
 * @example trackDependencies(registry, readiness)
 */
export function trackDependencies(registry: Registry, checks: DependencyCheck[]): void {
  if (registry.getSingleMetric(DEPENDENCY_UP_METRIC)) registry.removeSingleMetric(DEPENDENCY_UP_METRIC);
  new Gauge({
    name: DEPENDENCY_UP_METRIC,
    help: 'Readiness of each dependency as /readyz reports it: 1 up, 0.5 degraded, 0 down.',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const states = await Promise.all(checks.map((c) => c.check().then((r) => VALUE[r.state], () => 0)));
      checks.forEach((c, i) => this.set({ dependency: c.name }, states[i]));
    },
  });
}
