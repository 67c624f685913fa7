import { expect } from 'chai';
import { Gauge, Registry } from 'prom-client';
import { METRIC_READ_FAILURES_METRIC, scrapeReader } from '../../src/metrics';

function gaugeOver(registry: Registry, read: () => Promise<number | undefined>): void {
  new Gauge({
    name: 'openmcp_test_lag_events',
    help: 'a gauge read at scrape time',
    registers: [registry],
    async collect() {
      this.set((await read()) ?? NaN);
    },
  });
}

describe('scrapeReader (the read behind a scrape-time gauge)', () => {
  it('gives the value while the read succeeds, and starts the failure count at 0', async () => {
    const registry = new Registry();
    gaugeOver(registry, scrapeReader(registry, ['openmcp_test_lag_events'], async () => 7));
    const text = await registry.metrics();
    expect(text).to.match(/^openmcp_test_lag_events 7$/m);
    expect(text).to.contain(`${METRIC_READ_FAILURES_METRIC}{metric="openmcp_test_lag_events"} 0`);
  });

  it('turns a failing read into unknown (NaN) counted in the same scrape, instead of failing it', async () => {
    const registry = new Registry();
    gaugeOver(registry, scrapeReader(registry, ['openmcp_test_lag_events'], () => Promise.reject(new Error('store down'))));
    const text = await registry.metrics();
    expect(text).to.match(/^openmcp_test_lag_events Nan$/m);
    expect(text).to.contain(`${METRIC_READ_FAILURES_METRIC}{metric="openmcp_test_lag_events"} 1`);
    expect(await registry.metrics()).to.contain(`${METRIC_READ_FAILURES_METRIC}{metric="openmcp_test_lag_events"} 2`);
  });

  it('gives up on a read that hangs after the timeout, and lets later scrapes wait on that same read rather than start more', async () => {
    const registry = new Registry();
    let started = 0;
    let answer!: (n: number) => void;
    const read = scrapeReader(registry, ['openmcp_test_lag_events'], () => (started++ === 0 ? new Promise<number>((r) => (answer = r)) : Promise.resolve(3)), 50);
    gaugeOver(registry, read);
    expect(await registry.metrics()).to.match(/^openmcp_test_lag_events Nan$/m);
    expect(await registry.metrics()).to.contain(`${METRIC_READ_FAILURES_METRIC}{metric="openmcp_test_lag_events"} 2`);
    expect(started, 'one read in flight').to.equal(1);
    answer(9); // the hung read ends at last: the next scrape reads afresh
    await new Promise((r) => setImmediate(r));
    expect(await registry.metrics()).to.match(/^openmcp_test_lag_events 3$/m);
    expect(started).to.equal(2);
  });
});
