import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { scrapeReader } from '../metrics/scrape-reader';

export const PROJECTION_LAG_METRIC = 'openmcp_projection_lag_events';

/**
 * `openmcp_projection_lag_events{projection}`: events in the log not yet applied (after the
 * projection's watermark, or as the Kafka consumer group's lag counts them), computed when scraped
 * so it also grows while the projector is stuck.
 * A sample that cannot be read (store down or hung) sets every projection's to NaN (unknown) and
 * counts in openmcp_metric_read_failures_total, rather than failing the whole scrape.
 */
export function projectionLagGauge(
  registry: Registry = defaultRegistry,
  projections: readonly string[],
  sample: () => Promise<Array<{ projection: string; lag: number }>>,
): Gauge<'projection'> {
  const existing = registry.getSingleMetric(PROJECTION_LAG_METRIC);
  if (existing) registry.removeSingleMetric(PROJECTION_LAG_METRIC);
  const read = scrapeReader(registry, [PROJECTION_LAG_METRIC], sample);
  return new Gauge({
    name: PROJECTION_LAG_METRIC,
    help: 'Events in the log not yet applied by the projection: head position - checkpoint on the SQL store, counted by reading up to 10000 on KurrentDB (whose positions are byte offsets); with Kafka, events not yet relayed plus messages the consumer group has not handled. NaN while it cannot be read.',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      const lags = await read();
      for (const projection of projections) this.set({ projection }, lags?.find((l) => l.projection === projection)?.lag ?? NaN);
    },
  });
}
