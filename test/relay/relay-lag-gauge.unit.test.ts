import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { RELAY_LAG_METRIC, trackRelayLag } from '../../src/relay';

describe('relay lag gauge', () => {
  it('reports a relay whose lag cannot be read (store down) as NaN and counts it, instead of failing the whole scrape', async () => {
    const registry = new Registry();
    new Counter({ name: 'openmcp_test_other_total', help: 'another metric of the same scrape', registers: [registry] }).inc();
    trackRelayLag({ topic: 'down.events.v1', lag: () => Promise.reject(new Error('database unreachable')) }, registry);
    trackRelayLag({ topic: 'up.events.v1', lag: async () => 7 }, registry);
    const text = await registry.metrics();
    expect(text).to.contain('openmcp_test_other_total 1');
    expect(text).to.contain(`${RELAY_LAG_METRIC}{topic="up.events.v1"} 7`);
    // Unknown, yet present: absent(openmcp_relay_lag_events) still means no relay leads.
    expect(text).to.contain(`${RELAY_LAG_METRIC}{topic="down.events.v1"} Nan`);
    expect(text).to.contain(`openmcp_metric_read_failures_total{metric="${RELAY_LAG_METRIC}"} 1`);
  });
});
