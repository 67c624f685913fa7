import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';

export const PROJECTION_LAG_METRIC = 'openmcp_projection_lag_events';

/**
 * `openmcp_projection_lag_events{projection}`: events in the log not yet applied (head − watermark),
 * computed when scraped so it also grows while the projector is stuck.
 */
export function projectionLagGauge(
  registry: Registry = defaultRegistry,
  sample: () => Promise<Array<{ projection: string; lag: number }>>,
): Gauge<'projection'> {
  const existing = registry.getSingleMetric(PROJECTION_LAG_METRIC);
  if (existing) registry.removeSingleMetric(PROJECTION_LAG_METRIC);
  return new Gauge({
    name: PROJECTION_LAG_METRIC,
    help: 'Events in the log not yet applied by the projection (head position minus checkpoint).',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      for (const { projection, lag } of await sample()) this.set({ projection }, lag);
    },
  });
}
