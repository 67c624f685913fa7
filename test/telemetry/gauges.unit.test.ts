import { expect } from 'chai';
import { Registry } from 'prom-client';
import { trackAuditLag, trackDependencies } from '../../src/telemetry';

describe('audit lag and dependency gauges', () => {
  it('reports sealing and anchoring lag from one sample per scrape', async () => {
    const registry = new Registry();
    let samples = 0;
    trackAuditLag(registry, async () => (samples++, { headPosition: 120, lastSealedPosition: 99, sealedBatches: 5, anchoredBatches: 3 }));
    const text = await registry.metrics();
    expect(text).to.match(/^openmcp_sealing_lag_events 21$/m);
    expect(text).to.match(/^openmcp_anchoring_lag_batches 2$/m);
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
});
