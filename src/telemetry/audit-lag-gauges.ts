import { Gauge, type Registry } from 'prom-client';
import { scrapeReader } from '../metrics/scrape-reader';

export const SEALING_LAG_METRIC = 'openmcp_sealing_lag_events';
export const ANCHORING_LAG_METRIC = 'openmcp_anchoring_lag_batches';

export type AuditLagSample = {
  /**
   * Events in the log after the last sealed one, in events on every store:
   * `eventsAfter(store, lastSealedPosition)` (a difference of KurrentDB positions is bytes).
   */
  unsealedEvents: number;
  sealedBatches: number;
  anchoredBatches: number;
};

/**
 * `openmcp_sealing_lag_events` (events in the log not yet in a sealed batch) and
 * `openmcp_anchoring_lag_batches` (sealed batches not yet recorded as anchored), computed when
 * scraped, so they keep growing while the sealer or the anchorer is stuck or has no leader.
 * Register on any process that can read the log; the values are the same everywhere. A sample
 * that cannot be read (store down or hung) sets both to NaN (unknown) and counts in
 * openmcp_metric_read_failures_total, rather than failing the whole scrape.
 * @example
 * trackAuditLag(registry, async () => {
 *   const sealed = await batchLog.sealedBatches();
 *   return { unsealedEvents: await eventsAfter(store, sealed.at(-1)?.lastPosition ?? -1),
 *            sealedBatches: sealed.length, anchoredBatches: (await batchLog.anchorRecords(await anchorStream())).length };
 * });
 */
export function trackAuditLag(registry: Registry, sample: () => Promise<AuditLagSample>): void {
  for (const name of [SEALING_LAG_METRIC, ANCHORING_LAG_METRIC]) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  const read = scrapeReader(registry, [SEALING_LAG_METRIC, ANCHORING_LAG_METRIC], sample);
  // One sample per scrape serves both gauges: registry.metrics() starts every collect() in one
  // synchronous loop, so the second collect() finds the first's read; the next scrape reads
  // afresh (a timer-based reset could fire after a quick second scrape and serve it a stale sample).
  let shared: Promise<AuditLagSample | undefined> | undefined;
  const once = () => {
    if (!shared) {
      shared = read();
      queueMicrotask(() => (shared = undefined));
    }
    return shared;
  };
  new Gauge({
    name: SEALING_LAG_METRIC,
    help: 'Events in the log not yet sealed into a Merkle batch (after the last sealed one): head position - last sealed position on the SQL store, counted by reading up to 10000 on KurrentDB (whose positions are byte offsets). NaN while the log cannot be read.',
    registers: [registry],
    async collect() {
      const s = await once();
      this.set(s ? Math.max(0, s.unsealedEvents) : NaN);
    },
  });
  new Gauge({
    name: ANCHORING_LAG_METRIC,
    help: 'Sealed batches not yet anchored on chain (sealed - anchored), on every store. NaN while the log cannot be read.',
    registers: [registry],
    async collect() {
      const s = await once();
      this.set(s ? Math.max(0, s.sealedBatches - s.anchoredBatches) : NaN);
    },
  });
}
