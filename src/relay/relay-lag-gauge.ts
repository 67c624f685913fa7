import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';

export const RELAY_LAG_METRIC = 'openmcp_relay_lag_events';

/** Something whose lag the gauge reports at scrape time. */
export type LagSource = { readonly topic: string; lag(): Promise<number> };

const perRegistry = new WeakMap<Registry, Set<LagSource>>();

/**
 * Register `source` with the lag gauge of `registry` (one gauge per registry, labelled by topic).
 * The value is computed when scraped, so it is never older than the scrape; a source whose lag
 * cannot be read then has no sample (alert on `absent()` as well as on the value).
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
        // A lag that cannot be read (the store is down) leaves its series out of this scrape: a
        // failed collect would fail the whole scrape, hiding every other metric during the outage.
        const sources = [...live];
        const lags = await Promise.all(sources.map((s) => s.lag().catch(() => undefined)));
        sources.forEach((s, i) => lags[i] !== undefined && this.set({ topic: s.topic }, lags[i]!));
      },
    });
  }
  sources.add(source);
  return () => void sources.delete(source);
}
