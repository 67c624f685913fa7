import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

/**
 * /mcp answers single JSON-RPC POSTs itself (SessionTransport.tryPost) and leaves everything else
 * to the SDK transport: both must answer as the streamable HTTP spec says, over raw HTTP.
 */
describe('/mcp fast path and its fallback to the SDK transport', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let http: { app: FastifyInstance; url: string };
  let session: string;

  const headers = (extra: Record<string, string> = {}) => ({
    authorization: 'Bearer key-acme-alice',
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    ...(session ? { 'mcp-session-id': session } : {}),
    ...extra,
  });
  const post = (body: unknown, extra?: Record<string, string>) => fetch(http.url, { method: 'POST', headers: headers(extra), body: JSON.stringify(body) });

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    http = await startGatewayHttp(gateway);
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(init.status).to.equal(200);
    session = init.headers.get('mcp-session-id')!;
    expect(session).to.be.a('string');
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).to.equal(202);
  });

  after(async function () {
    await http?.app.close();
    await gateway?.close();
    await db?.cleanup();
  });

  it('answers a request with its JSON-RPC response as application/json, naming the session', async function () {
    const res = await post({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(res.headers.get('mcp-session-id')).to.equal(session);
    const body = (await res.json()) as { id: number; result: { tools: { name: string }[] } };
    expect(body.id).to.equal(7);
    expect(body.result.tools.map((t) => t.name)).to.deep.equal(['search_tools']);
  });

  it('passes a failing call back as a JSON-RPC error with the request id', async function () {
    const res = await post({ jsonrpc: '2.0', id: 'x1', method: 'tools/call', params: { name: 'nope__tool', arguments: {} } });
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { id: string; error: { code: number; message: string } };
    expect(body.id).to.equal('x1');
    expect(body.error.message).to.include('nope__tool');
  });

  it('answers concurrent requests of one session each with its own response', async function () {
    const ids = [11, 12, 13, 14, 15];
    const bodies = await Promise.all(ids.map(async (id) => (await (await post({ jsonrpc: '2.0', id, method: 'ping' })).json()) as { id: number }));
    expect(bodies.map((b) => b.id)).to.deep.equal(ids);
  });

  it('leaves batches, bad headers and invalid messages to the SDK transport, which answers them', async function () {
    const batch = await post([
      { jsonrpc: '2.0', id: 21, method: 'ping' },
      { jsonrpc: '2.0', id: 22, method: 'tools/list' },
    ]);
    expect(batch.status).to.equal(200);
    const answers = (await batch.json()) as { id: number }[];
    expect(answers.map((a) => a.id).sort()).to.deep.equal([21, 22]);
    expect((await post({ jsonrpc: '2.0', id: 23, method: 'ping' }, { 'mcp-protocol-version': '1999-01-01' })).status).to.equal(400);
    // A client that takes neither JSON nor an event stream (test/mcp/accept-header.int.test.ts for the rest).
    expect((await post({ jsonrpc: '2.0', id: 24, method: 'ping' }, { accept: 'text/html' })).status).to.equal(406);
    expect((await post({ hello: 'world' })).status).to.equal(400);
  });

  it('refuses an unknown session and a second initialize', async function () {
    expect((await post({ jsonrpc: '2.0', id: 31, method: 'ping' }, { 'mcp-session-id': 'no-such-session' })).status).to.equal(404);
    const again = await post({
      jsonrpc: '2.0',
      id: 32,
      method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(again.status).to.equal(400);
  });
});
