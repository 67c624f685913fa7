import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { ToolLatencyStats } from '../../src/ui/tool-latency-stats';

let position = 0;
const call = (tenant: string, latencyMs: number, type = 'ToolCallCompleted'): RecordedEvent => ({
  ...createEvent({ type, stream: 'toolcall-x', tenant, actor: { kind: 'system', id: 'test' }, data: { serverId: 's1', server: 'examples', tool: 'echo', latencyUs: latencyMs * 1000, isError: false } }),
  position: position++,
  revision: 0,
} as unknown as RecordedEvent);

describe('ToolLatencyStats: the MCP page latency column', () => {
  it('reports nearest-rank percentiles: p50 of 1..20 ms is 10 ms and p95 is 19 ms, not the slowest call', () => {
    const stats = new ToolLatencyStats();
    for (let ms = 20; ms >= 1; ms--) stats.add(call('acme', ms));
    expect(stats.byServer(() => true)[0]).to.include({ calls: 20, p50Ms: 10, p95Ms: 19 });
  });

  it('gives the faster of two calls as their median (the lower middle, as nearest rank does)', () => {
    const stats = new ToolLatencyStats();
    stats.add(call('acme', 1));
    stats.add(call('acme', 100));
    expect(stats.byServer(() => true)[0]).to.include({ p50Ms: 1, p95Ms: 100 });
  });

  it("keeps each tenant's calls to itself", () => {
    const stats = new ToolLatencyStats();
    stats.add(call('acme', 5));
    stats.add(call('globex', 500, 'ToolCallFailed'));
    expect(stats.byServer((t) => t === 'acme')).to.deep.equal([{ serverId: 's1', server: 'examples', calls: 1, errors: 0, p50Ms: 5, p95Ms: 5, lastCallAt: stats.byServer((t) => t === 'acme')[0].lastCallAt }]);
    expect(stats.byServer((t) => t === 'globex')[0]).to.include({ calls: 1, errors: 1, p50Ms: 500 });
  });
});
