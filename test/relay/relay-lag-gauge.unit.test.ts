import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { RELAY_LAG_METRIC, trackRelayLag } from '../../src/relay';

describe('relay lag gauge', () => {
  it('leaves out a relay whose lag cannot be read (store down) instead of failing the whole scrape', async () => {
    const registry = new Registry();
    new Counter({ name: 'openmcp_test_other_total', help: 'another metric of the same scrape', registers: [registry] }).inc();
    trackRelayLag({ topic: 'down.events.v1', lag: () => Promise.reject(new Error('database unreachable')) }, registry);
    trackRelayLag({ topic: 'up.events.v1', lag: async () => 7 }, registry);
    const text = await registry.metrics();
    expect(text).to.contain('openmcp_test_other_total 1');
    expect(text).to.contain(`${RELAY_LAG_METRIC}{topic="up.events.v1"} 7`);
    expect(text).not.to.contain('down.events.v1');
  });
});
