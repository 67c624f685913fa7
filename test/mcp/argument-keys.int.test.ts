import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, LATEST_PROTOCOL_VERSION, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { httpClient, startGatewayHttp } from './support/clients';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { openTempSqliteStore } from './support/stores';

/**
 * Tool arguments are any JSON object, keys named `__proto__` or `constructor` (holding a
 * `prototype`) included: a tool that edits JSON documents or JavaScript code may well be given
 * one. `openmcp mcp stdio` forwarded and recorded them; `/mcp` refused the whole request with 400
 * MALFORMED_JSON "Body is not valid JSON" (fastify's prototype-poisoning guard), though the body
 * was valid JSON and the same call worked over stdio.
 */
describe('/mcp forwards and records argument keys named __proto__ and constructor, as stdio does', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: HttpServer;
  let http: { app: FastifyInstance; url: string };
  let client: Client;
  /** The `arguments` of each tools/call as the upstream read them off the wire. */
  const received: string[] = [];

  before(async function () {
    const sessions = mcpSessions(() => {
      const server = new Server({ name: 'keys', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [{ name: 'keep', description: 'Answer ok.', inputSchema: { type: 'object' as const } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
      return server;
    });
    upstream = createServer(async (req, res) => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const m = body as { method?: string; params?: { arguments?: unknown } } | undefined;
      if (m?.method === 'tools/call') received.push(JSON.stringify(m.params?.arguments));
      await sessions.handle(req, res, body);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const s = await gateway.registerServer({
      tenant: 'acme',
      actor: { kind: 'user', id: 'alice' },
      name: 'keys',
      transport: 'http',
      url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`,
    });
    expect(s.health).to.equal('up');
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    await db?.cleanup();
  });

  it('a tools/call whose arguments hold __proto__ and constructor.prototype reaches the upstream whole, and is recorded whole', async function () {
    const text = '{"doc":{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"n":1}}';
    const head = await db.store.headPosition();
    const r = await client.callTool({ name: 'keys__keep', arguments: JSON.parse(text) as Record<string, unknown> });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'ok' }]);
    expect(received.at(-1), 'what the upstream read').to.equal('{"doc":{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"n":1}}');
    const events = (await db.store.readAll({ after: head, limit: 100 })).filter((e) => e.type === 'ToolCallRequested');
    expect(events).to.have.length(1);
    const args = JSON.parse(text) as unknown;
    expect(events[0].data).to.include({ argumentsJson: payloadDigest(args).json, argumentsHash: payloadDigest(args).hash });
    expect(String(events[0].data.argumentsJson)).to.contain('"__proto__":{"admin":true}');
    expect(({} as Record<string, unknown>).admin, 'no prototype was touched').to.equal(undefined);
  });

  it('a __proto__ key at the top of the arguments reaches the upstream too (the SDK\'s z.record would drop it: the gateway reads params unchecked)', async function () {
    const text = '{"__proto__":{"admin":true},"n":1}';
    const r = await client.callTool({ name: 'keys__keep', arguments: JSON.parse(text) as Record<string, unknown> });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'ok' }]);
    expect(received.at(-1), 'what the upstream read').to.equal(text);
  });

  it('a body that starts with a byte order mark is read as before (fastify\'s parser drops it)', async function () {
    const res = await fetch(http.url, {
      method: 'POST',
      headers: { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
      body: '\ufeff' + JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bom', version: '1' } } }),
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('mcp-session-id')).to.be.a('string');
  });

  it('a body that is not JSON, or empty, is still refused with 400', async function () {
    const post = (body: string) =>
      fetch(http.url, {
        method: 'POST',
        headers: { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
        body,
      });
    for (const body of ['{"jsonrpc":', '']) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      const problem = (await res.json()) as { code?: string };
      expect(problem.code, JSON.stringify(body)).to.match(/^FST_ERR_CTP_(INVALID|EMPTY)_JSON_BODY$/);
    }
  });
});
