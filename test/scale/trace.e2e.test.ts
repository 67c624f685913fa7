import { expect } from 'chai';
import { startCluster, type Cluster } from '../support/cluster';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { mysqlAvailable, redisAvailable, requireService } from '../support/services';

/**
 * One REST request, followed by real `openmcp start --roles …` processes exporting over OTLP/HTTP
 * to a receiver here: the API appends (HTTP + eventstore spans), the relay publishes the event
 * in the request's trace (context recalled from Redis, traceparent in the Kafka headers), the
 * projector consumes it, and the agent runs the task in the same trace.
 */
describe('tracing across role processes (OTLP to a test receiver)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let otlp: OtlpReceiver;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    await requireService(this, 'Redis', redisAvailable);
    otlp = await startOtlpReceiver();
    cluster = await startCluster({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' });
    // Side by side, as a deployment starts them (every role migrates; migrations are made for
    // processes starting at once).
    await Promise.all([cluster.spawn('api', 'api,gateway'), cluster.spawn('relay', 'relay'), cluster.spawn('projector', 'projector'), cluster.spawn('agent', 'agent'), cluster.spawn('audit', 'sealer,anchorer')]);
  });
  after(async () => {
    await cluster?.close();
    await otlp?.close();
  });

  it('shows spans from at least four processes (api, relay, projector, agent) under the request trace id', async () => {
    const api = cluster.processes.find((p) => p.name === 'api')!;
    const res = await fetch(`${api.url}/v1/tasks`, { method: 'POST', headers: cluster.headers, body: JSON.stringify({ steps: [{ tool: 'examples__echo', arguments: { text: 'trace me' } }] }) });
    expect(res.status, await res.clone().text()).to.equal(202);
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 60_000;
    let view: { status?: string } = {};
    while (Date.now() < deadline) {
      view = (await (await fetch(`${api.url}/v1/tasks/${id}`, { headers: cluster.headers })).json()) as { status: string };
      if (view.status === 'completed' || view.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(view.status, JSON.stringify(view)).to.equal('completed');

    const root = otlp.spans.find((s) => s.kind === 2 && /POST/.test(s.name) && s.service === 'openmcp-api');
    let services = new Set<string>();
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const post = root ?? otlp.spans.find((s) => s.kind === 2 && /POST/.test(s.name) && s.service === 'openmcp-api');
      if (post) {
        const inTrace = otlp.spans.filter((s) => s.traceId === post.traceId);
        services = new Set(inTrace.map((s) => s.service));
        if (['openmcp-api', 'openmcp-relay', 'openmcp-projector', 'openmcp-agent'].every((x) => services.has(x))) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const post = otlp.spans.find((s) => s.kind === 2 && /POST/.test(s.name) && s.service === 'openmcp-api')!;
    expect(post, `spans seen: ${otlp.spans.map((s) => `${s.service}:${s.name}`).join(', ')}`).to.exist;
    const inTrace = otlp.spans.filter((s) => s.traceId === post.traceId);
    const processes = new Set(inTrace.map((s) => s.instance));
    expect([...services].sort(), inTrace.map((s) => `${s.service}:${s.name}`).join(', ')).to.include.members(['openmcp-agent', 'openmcp-api', 'openmcp-projector', 'openmcp-relay']);
    expect(processes.size).to.be.at.least(4);
    const names = inTrace.map((s) => s.name);
    expect(names.some((n) => n.endsWith(' publish'))).to.equal(true);
    expect(names.some((n) => n.endsWith(' process'))).to.equal(true);
    expect(names.some((n) => n.startsWith('tools/call examples__echo'))).to.equal(true);
  });
});
