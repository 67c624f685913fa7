import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { PROJECTION_LAG_METRIC, projectionLagGauge } from '../../src/projector/lag-metric';

describe('projection lag gauge', () => {
  it('reports every projection as NaN (unknown) when the log cannot be read, instead of failing the whole scrape', async () => {
    const registry = new Registry();
    new Counter({ name: 'openmcp_test_other_total', help: 'another metric of the same scrape', registers: [registry] }).inc();
    let down = false;
    projectionLagGauge(registry, ['tasks', 'audit-log'], async () => {
      if (down) throw new Error('database unreachable');
      return [{ projection: 'tasks', lag: 4 }, { projection: 'audit-log', lag: 0 }];
    });
    expect(await registry.metrics()).to.contain(`${PROJECTION_LAG_METRIC}{projection="tasks"} 4`);
    down = true;
    const text = await registry.metrics();
    expect(text).to.contain('openmcp_test_other_total 1');
    expect(text).to.contain(`${PROJECTION_LAG_METRIC}{projection="tasks"} Nan`);
    expect(text).to.contain(`${PROJECTION_LAG_METRIC}{projection="audit-log"} Nan`);
    expect(text).to.contain(`openmcp_metric_read_failures_total{metric="${PROJECTION_LAG_METRIC}"} 1`);
  });
});
