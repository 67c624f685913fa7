import { Gauge, type Registry } from 'prom-client';

export const SEALING_LAG_METRIC = 'openmcp_sealing_lag_events';
export const ANCHORING_LAG_METRIC = 'openmcp_anchoring_lag_batches';

export type AuditLagSample = {
  /** Position of the last event in the log (-1 when empty). */
  headPosition: number;
  /** Global position of the last sealed event (-1 when nothing is sealed). */
  lastSealedPosition: number;
  sealedBatches: number;
  anchoredBatches: number;
};

/**
 * `openmcp_sealing_lag_events` (events in the log not yet in a sealed batch) and
 * `openmcp_anchoring_lag_batches` (sealed batches not yet recorded as anchored), computed when
 * scraped, so they keep growing while the sealer or the anchorer is stuck or has no leader.
 * Register on any process that can read the log; the values are the same everywhere.
 * @example
 * trackAuditLag(registry, async () => {
 *   const sealed = await batchLog.sealedBatches();
 *   return { headPosition: await store.headPosition(), lastSealedPosition: sealed.at(-1)?.lastPosition ?? -1,
 *            sealedBatches: sealed.length, anchoredBatches: (await batchLog.anchorRecords(await anchorStream())).length };
 * });
 */
export function trackAuditLag(registry: Registry, sample: () => Promise<AuditLagSample>): void {
  for (const name of [SEALING_LAG_METRIC, ANCHORING_LAG_METRIC]) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  // One sample per scrape serves both gauges: the second collect() reuses the first's promise.
  let shared: Promise<AuditLagSample> | undefined;
  const once = () => {
    shared ??= sample().finally(() => setTimeout(() => (shared = undefined), 0));
    return shared;
  };
  new Gauge({
    name: SEALING_LAG_METRIC,
    help: 'Events in the log not yet sealed into a Merkle batch (head position - last sealed position).',
    registers: [registry],
    async collect() {
      const s = await once();
      this.set(Math.max(0, s.headPosition - s.lastSealedPosition));
    },
  });
  new Gauge({
    name: ANCHORING_LAG_METRIC,
    help: 'Sealed batches not yet anchored on chain (sealed - anchored).',
    registers: [registry],
    async collect() {
      const s = await once();
      this.set(Math.max(0, s.sealedBatches - s.anchoredBatches));
    },
  });
}
