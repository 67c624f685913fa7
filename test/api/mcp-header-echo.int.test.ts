import { expect } from 'chai';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConfigSchema } from '../../src/config';
import { initTracing } from '../../src/telemetry/init-tracing';
import { traceToolCall } from '../../src/telemetry/component-spans';
import { createLogger } from '../../src/api/logger';
import { createGatewayServer } from '../../src/mcp/gateway-server';
import type { McpGateway } from '../../src/mcp/gateway';
import { startBearerUpstream, type BearerUpstream } from '../mcp/support/bearer-upstream';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';
import { rejection } from '../mcp/support/rejection';

// A value no other text could contain by chance.
const SECRET = `sk-echo-${Math.random().toString(36).slice(2)}-secret`;
const VAR = `OMC_TEST_ECHOED_TOKEN_${process.pid}`;
const REF = `\${env:${VAR}}`;

/**
 * An upstream quoting the Authorization header it was sent (`Bearer ${env:NAME}` resolved): in a
 * 401, 403 or 500 body (which the SDK's error keeps, the gateway's error's cause), in a JSON-RPC
 * error to initialize (the health reason) or to tools/call (the caller's error, its data).
 */
describe('REST POST /v1/mcp-servers: an upstream echoing its header secret (real McpGateway, real HTTP MCP upstream)', function () {
  this.timeout(30_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: BearerUpstream;
  let base: string;
  let admin: { auth: string };
  const gatewayLog: unknown[] = [];
  const logger = { warn: (o: unknown, m?: string) => gatewayLog.push([o, m]), info: (o: unknown, m?: string) => gatewayLog.push([o, m]), debug: (o: unknown, m?: string) => gatewayLog.push([o, m]) };
  /** What the app's logger writes of an error (a 5xx's line, its cause's message and stack too). */
  const logged: string[] = [];
  const log = (err: unknown) => createLogger('info', new Writable({ write: (chunk, _enc, cb) => (logged.push(String(chunk)), cb()) })).error({ err }, 'request failed');

  before(async () => {
    process.env[VAR] = SECRET;
    upstream = await startBearerUpstream('Authorization', `Bearer ${SECRET}`);
    base = upstream.url.replace(/\/mcp$/, '');
    ({ h, gw, close } = await makeGatewayHarness({}, 5_000, { logger }));
    // Cross-tenant: the upstream listens on 127.0.0.1, and headers reading the gateway's environment are the host's.
    admin = await h.key('admin', 'acme', true);
  });
  after(async () => {
    await close?.();
    await upstream?.close();
    delete process.env[VAR];
  });

  const register = async (name: string, path: string) => {
    const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin.auth, payload: { name, transport: 'http', url: `${base}${path}`, headers: { Authorization: `Bearer ${REF}` } } });
    expect(res.statusCode, res.body).to.equal(201);
    return res.json() as { id: string; health: string; healthReason?: string };
  };
  const healthEvents = async (id: string) => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.stream.endsWith(id));
  const everything = async () =>
    JSON.stringify([logged, h.logs, gatewayLog.map(([o, m]: any) => [m, o, o?.err?.message, o?.err?.cause?.message]), await h.store.readAll({ limit: 10_000 })]);

  it('401, 403 and 500 bodies echoing the header: the error a 5xx logs whole (its cause quoting the body) names the reference', async () => {
    for (const status of [401, 403, 500]) {
      const s = await register(`rejects-${status}`, `/rejects/${status}`);
      expect(s.health).to.equal('down');
      const err = await rejection(gw.upstream(s.id)!.connect());
      expect(err.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
      log(err);
      // The SDK's error (the cause) quotes the body, the reference in place of the value.
      expect(logged.at(-1)).to.include('invalid token').and.include(`Bearer ${REF}`).and.not.include(SECRET);
    }
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);
  });

  it("a JSON-RPC error to initialize quoting the token: the health reason, McpServerHealthChanged and GET /v1/mcp-servers name the reference", async () => {
    const s = await register('refuses', '/refuses-token');
    expect([s.health, s.healthReason]).to.deep.equal(['down', `token refused: Bearer ${REF}`]);
    const [down] = await healthEvents(s.id);
    expect(down.data).to.deep.include({ status: 'down', reason: `token refused: Bearer ${REF}` });
    const list = await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: admin.auth });
    expect(list.json().items.find((x: { name: string }) => x.name === 'refuses').healthReason).to.equal(`token refused: Bearer ${REF}`);
    const err = (await rejection(gw.upstream(s.id)!.connect())) as Error & { rpcData?: unknown };
    expect([err.message, err.rpcData]).to.deep.equal([`token refused: Bearer ${REF}`, { authorization: `Bearer ${REF}` }]);
    log(err);
    expect(JSON.stringify([list.body, down])).to.not.include(SECRET);
  });

  it('a JSON-RPC error to tools/call quoting the token: the MCP error the caller receives (message and data) names the reference', async () => {
    const s = await register('quoting', '/quoting/mcp');
    expect(s.health).to.equal('up');
    const { server, dispose } = createGatewayServer(gw, { tenant: 'acme', actor: { kind: 'user', id: 'alice' } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(b);
    try {
      const err = await rejection(client.callTool({ name: 'quoting__echo', arguments: { text: 'hi' } }));
      expect(err).to.be.instanceOf(McpError);
      expect([err.message, (err as unknown as McpError).data]).to.deep.equal([
        `MCP error -32603: the token ${REF} may not call tools`,
        { authorization: `Bearer ${REF}`, hint: ['check', `Bearer ${REF}`] },
      ]);
    } finally {
      await client.close();
      dispose();
    }
  });

  it("a traced tool call's span records the error (its message and stack) as the caller got it", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({ ...ConfigSchema.parse({}), OTEL_SERVICE_NAME: 'test-echo' }, { exporter, simple: true });
    try {
      await rejection(traceToolCall('quoting__echo', () => gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'alice' } }, 'quoting__echo', { text: 'hi' })));
      await tracing.forceFlush();
      const spans = JSON.stringify(exporter.getFinishedSpans().map((x) => [x.name, x.status, x.events]));
      expect(spans).to.include('tools/call quoting__echo').and.include(`the token ${REF} may not call tools`).and.not.include(SECRET);
    } finally {
      await tracing.shutdown();
    }
  });

  it('nothing captured holds the value: logs, the gateway log, the stored events', async () => {
    expect(logged).to.not.be.empty;
    expect(await everything()).to.include(REF).and.not.include(SECRET);
  });
});
