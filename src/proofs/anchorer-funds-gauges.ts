import { Gauge, type Registry } from 'prom-client';
import type { AnchorerFunds } from './anchorer';

export const ANCHORER_BALANCE_METRIC = 'openmcp_anchorer_balance_wei';
export const ANCHORER_LAST_COST_METRIC = 'openmcp_anchorer_last_anchor_cost_wei';
export const ANCHORER_LOW_FUNDS_METRIC = 'openmcp_anchorer_low_funds_anchors';

export type TrackAnchorerFundsParameters = {
  /** What the anchorer last reported (AnchorerOptions.onFunds); undefined before its first anchor, or on a standby. */
  funds: () => AnchorerFunds | undefined;
  /** ANCHORER_LOW_FUNDS_ANCHORS: the alert fires when the balance covers fewer anchors than this at the last cost. */
  lowFundsAnchors: number;
};

/**
 * `openmcp_anchorer_balance_wei` and `openmcp_anchorer_last_anchor_cost_wei` (wei: the base unit,
 * as seconds and bytes elsewhere; a float keeps 15 digits, plenty for an alert), read by the
 * anchorer after each anchor it sees mined, so a scrape costs no RPC request; NaN (unknown) until
 * then. `openmcp_anchorer_low_funds_anchors` is the setting, so that one alert rule,
 * `balance < cost × low_funds_anchors`, holds whatever each deployment sets.
 * Register where the anchorer role runs.
 * @example trackAnchorerFunds(registry, { funds: pipeline.funds, lowFundsAnchors: config.ANCHORER_LOW_FUNDS_ANCHORS })
 */
export function trackAnchorerFunds(registry: Registry, p: TrackAnchorerFundsParameters): void {
  for (const name of [ANCHORER_BALANCE_METRIC, ANCHORER_LAST_COST_METRIC, ANCHORER_LOW_FUNDS_METRIC]) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  const wei = (v: bigint | undefined) => (v === undefined ? NaN : Number(v));
  new Gauge({
    name: ANCHORER_BALANCE_METRIC,
    help: 'Balance of the anchorer account in wei, read after each anchor this process saw mined (or a send refused for want of funds); NaN before that, and on a standby.',
    registers: [registry],
    collect() {
      this.set(wei(p.funds()?.balanceWei));
    },
  });
  new Gauge({
    name: ANCHORER_LAST_COST_METRIC,
    help: 'What the last anchor transaction this process saw mined cost, in wei (gas used × effective gas price; on an L2, without its L1 data fee); NaN before its first.',
    registers: [registry],
    collect() {
      this.set(wei(p.funds()?.lastAnchorCostWei));
    },
  });
  new Gauge({
    name: ANCHORER_LOW_FUNDS_METRIC,
    help: 'ANCHORER_LOW_FUNDS_ANCHORS: alert when the balance covers fewer anchors than this at the last cost (0: never).',
    registers: [registry],
  }).set(p.lowFundsAnchors);
}
