import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { trackAuditLag, trackDependencies } from '../../src/telemetry';

/** Another metric of the same scrape: it must survive a gauge whose read fails. */
function otherMetric(registry: Registry): void {
  new Counter({ name: 'openmcp_test_other_total', help: 'another metric of the same scrape', registers: [registry] }).inc();
}

describe('audit lag and dependency gauges', () => {
  it('reports sealing and anchoring lag from one sample per scrape', async () => {
    const registry = new Registry();
    let samples = 0;
    trackAuditLag(registry, async () => (samples++, { unsealedEvents: 21, sealedBatches: 5, anchoredBatches: 3 }));
    const text = await registry.metrics();
    expect(text).to.match(/^openmcp_sealing_lag_events 21$/m);
    expect(text).to.match(/^openmcp_anchoring_lag_batches 2$/m);
    expect(samples).to.equal(1);
  });

  it('samples afresh on a scrape that follows the last one at once (two Prometheus servers, a retry)', async () => {
    const registry = new Registry();
    let unsealed = 0;
    trackAuditLag(registry, async () => ({ unsealedEvents: unsealed, sealedBatches: 0, anchoredBatches: 0 }));
    expect(await registry.metrics()).to.match(/^openmcp_sealing_lag_events 0$/m);
    unsealed = 9;
    expect(await registry.metrics()).to.match(/^openmcp_sealing_lag_events 9$/m);
  });

  it('reports both audit lags as NaN (unknown) and counts the failure once per gauge when the log cannot be read, instead of failing the whole scrape', async () => {
    const registry = new Registry();
    otherMetric(registry);
    let samples = 0;
    trackAuditLag(registry, () => (samples++, Promise.reject(new Error('database unreachable'))));
    const text = await registry.metrics();
    expect(text).to.contain('openmcp_test_other_total 1');
    expect(text).to.match(/^openmcp_sealing_lag_events Nan$/m);
    expect(text).to.match(/^openmcp_anchoring_lag_batches Nan$/m);
    expect(text).to.contain('openmcp_metric_read_failures_total{metric="openmcp_sealing_lag_events"} 1');
    expect(text).to.contain('openmcp_metric_read_failures_total{metric="openmcp_anchoring_lag_batches"} 1');
    expect(samples).to.equal(1);
  });

  it('reports each dependency: up 1, degraded 0.5, down or failing 0', async () => {
    const registry = new Registry();
    trackDependencies(registry, [
      { name: 'cache (redis)', check: async () => ({ state: 'up' }) },
      { name: 'llm', check: async () => ({ state: 'degraded' }) },
      { name: 'chain', check: async () => Promise.reject(new Error('down')) },
    ]);
    const text = await registry.metrics();
    expect(text).to.include('openmcp_dependency_up{dependency="cache (redis)"} 1');
    expect(text).to.include('openmcp_dependency_up{dependency="llm"} 0.5');
    expect(text).to.include('openmcp_dependency_up{dependency="chain"} 0');
  });

  it('reports a dependency whose check hangs (a frozen database) as down after 2 s, as /readyz does, instead of holding the scrape', async function () {
    this.timeout(10_000);
    const registry = new Registry();
    otherMetric(registry);
    trackDependencies(registry, [
      { name: 'database (mysql)', check: () => new Promise(() => {}) },
      { name: 'cache (redis)', check: async () => ({ state: 'up' }) },
    ]);
    const scrape = registry.metrics();
    const outcome = await Promise.race([scrape, new Promise((r) => setTimeout(() => r('still waiting'), 4000))]);
    expect(outcome, 'the scrape answered').to.be.a('string').and.not.equal('still waiting');
    expect(outcome).to.include('openmcp_dependency_up{dependency="database (mysql)"} 0');
    expect(outcome).to.include('openmcp_dependency_up{dependency="cache (redis)"} 1');
  });
});
