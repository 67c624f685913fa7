import { expect } from 'chai';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config';
import { createMetrics } from '../../src/metrics/metrics';

describe('createMetrics: the shared histograms', () => {
  it("HTTP latency buckets reach past MCP_CALL_TIMEOUT_MS's default, so slow /mcp tool calls are not all counted in +Inf (their p99 read 5 s, the top bucket, whatever they took)", async () => {
    const metrics = createMetrics({ registry: new Registry() });
    const timeoutSeconds = loadConfig({}, '/app').MCP_CALL_TIMEOUT_MS / 1000;
    metrics.httpDuration.observe({ method: 'POST', route: '/mcp', status: '200' }, timeoutSeconds);
    const buckets = (await metrics.httpDuration.get()).values.filter((v) => v.metricName === 'openmcp_http_request_duration_seconds_bucket');
    const finite = buckets.filter((b) => (b.labels as Record<string, unknown>).le !== '+Inf');
    expect(finite.some((b) => b.value === 1), `a finite bucket holds a ${timeoutSeconds} s call`).to.equal(true);
  });
});
