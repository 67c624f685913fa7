import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';

export const RELAY_LAG_METRIC = 'openmcp_relay_lag_events';

/** Something whose lag the gauge reports at scrape time. */
export type LagSource = { readonly topic: string; lag(): Promise<number> };

const perRegistry = new WeakMap<Registry, Set<LagSource>>();

/**
 * Register `source` with the lag gauge of `registry` (one gauge per registry, labelled by topic).
 * The value is computed when scraped, so it is never older than the scrape.
 * Returns the unregister function.
 */
export function trackRelayLag(source: LagSource, registry: Registry = defaultRegistry): () => void {
  let sources = perRegistry.get(registry);
  if (!sources) {
    const live = (sources = new Set<LagSource>());
    perRegistry.set(registry, live);
    new Gauge({
      name: RELAY_LAG_METRIC,
      help: 'Events in the log not yet published to Kafka by the relay (after its checkpoint; counted up to 10000 on KurrentDB).',
      labelNames: ['topic'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of live) this.set({ topic: s.topic }, await s.lag());
      },
    });
  }
  sources.add(source);
  return () => void sources.delete(source);
}
