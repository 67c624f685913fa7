import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { scrapeReader } from '../metrics/scrape-reader';

export const RELAY_LAG_METRIC = 'openmcp_relay_lag_events';

/** Something whose lag the gauge reports at scrape time. */
export type LagSource = { readonly topic: string; lag(): Promise<number> };

const perRegistry = new WeakMap<Registry, Map<LagSource, () => Promise<number | undefined>>>();

/**
 * Register `source` with the lag gauge of `registry` (one gauge per registry, labelled by topic).
 * The value is computed when scraped, so it is never older than the scrape; a source whose lag
 * cannot be read then (store down or hung) reports NaN (unknown) and counts in
 * openmcp_metric_read_failures_total, rather than failing the whole scrape.
 * Returns the unregister function.
 */
export function trackRelayLag(source: LagSource, registry: Registry = defaultRegistry): () => void {
  let sources = perRegistry.get(registry);
  if (!sources) {
    const live = (sources = new Map());
    perRegistry.set(registry, live);
    new Gauge({
      name: RELAY_LAG_METRIC,
      help: 'Events in the log not yet published to Kafka by the relay (after its checkpoint): head position - checkpoint on the SQL store, counted by reading up to 10000 on KurrentDB (whose positions are byte offsets). NaN while the store cannot be read.',
      labelNames: ['topic'],
      registers: [registry],
      async collect() {
        this.reset();
        const entries = [...live];
        const lags = await Promise.all(entries.map(([, read]) => read()));
        entries.forEach(([s], i) => this.set({ topic: s.topic }, lags[i] ?? NaN));
      },
    });
  }
  sources.set(source, scrapeReader(registry, [RELAY_LAG_METRIC], () => source.lag()));
  return () => void sources.delete(source);
}
