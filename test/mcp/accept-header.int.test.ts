import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import type { BehaviourUpstream } from './support/behaviour-upstream';
import { startBehaviourGateway, type BehaviourGateway } from './support/behaviour-gateway';
import { startGatewayHttp } from './support/clients';

type RpcAnswer = { id: number | null; result?: { content?: { text: string }[]; tools?: unknown[] }; error?: { code: number; message: string } };

/**
 * Streamable HTTP asks clients to accept both application/json and text/event-stream, and the MCP
 * SDK's transport answers 406 unless both are named literally. Many JSON-RPC clients send none, or
 * the wildcard of every type (curl, httpx, fetch), or only application/json: /mcp answers JSON
 * anyway, so it serves them, and opens an SSE stream only for a client that takes one.
 */
describe('/mcp Accept header: clients that are not the TypeScript SDK', function () {
  this.timeout(30_000);
  let fixture: BehaviourGateway;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let http: { app: FastifyInstance; url: string };

  before(async function () {
    fixture = await startBehaviourGateway({ callTimeoutMs: 15_000 });
    ({ gateway, upstream } = fixture);
    http = await startGatewayHttp(gateway);
  });

  after(async function () {
    await http?.app.close();
    await fixture?.close();
  });

  /** POST with exactly these headers besides the key and content type (`accept: undefined` sends none). */
  const post = (accept: string | undefined, body: unknown, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', ...extra };
    if (accept !== undefined) headers.accept = accept;
    return fetch(http.url, { method: 'POST', headers, body: JSON.stringify(body) });
  };

  /** A session opened and initialized with this Accept header throughout. */
  async function open(accept: string | undefined): Promise<Record<string, string>> {
    const init = await post(accept, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'plain', version: '1' } } });
    expect(init.status, await init.clone().text()).to.equal(200);
    expect(init.headers.get('content-type')).to.match(/^application\/json/);
    expect(((await init.json()) as RpcAnswer).id).to.equal(0);
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    expect((await post(accept, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).to.equal(202);
    return session;
  }

  for (const [label, accept] of [
    ['application/json only', 'application/json'],
    ['the wildcard of every type', '*/*'],
    ['no Accept header', undefined],
  ] as const) {
    it(`serves a client sending ${label}: initialize, tools/list and tools/call as JSON`, async function () {
      const session = await open(accept);
      const list = await post(accept, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, session);
      expect(list.status).to.equal(200);
      expect(((await list.json()) as RpcAnswer).result!.tools).to.have.length.above(1);
      const call = await post(accept, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 2, everyMs: 10 } } }, session);
      expect(call.status).to.equal(200);
      expect(call.headers.get('content-type')).to.match(/^application\/json/);
      expect(((await call.json()) as RpcAnswer).result!.content).to.be.an('array');
    });
  }

  it('answers a JSON-only client that asked for progress with the JSON response (its progress has nowhere to go), never an SSE stream', async function () {
    const session = await open('application/json');
    const call = await post('application/json', { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 2, everyMs: 10 }, _meta: { progressToken: 'p1' } } }, session);
    expect(call.status).to.equal(200);
    expect(call.headers.get('content-type')).to.match(/^application\/json/);
    const body = (await call.json()) as RpcAnswer;
    expect(body.id).to.equal(3);
    expect(body.result!.content).to.be.an('array');
  });

  it('still answers a client that takes both and asked for progress with an SSE stream', async function () {
    const session = await open('*/*');
    const call = await post('*/*', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 2, everyMs: 10 }, _meta: { progressToken: 'p2' } } }, session);
    expect(call.status).to.equal(200);
    expect(call.headers.get('content-type')).to.match(/^text\/event-stream/);
    const text = await call.text();
    expect(text).to.include('notifications/progress');
    expect(text).to.include('"id":4');
  });

  it('opens the GET stream for a client sending the wildcard of every type, and refuses one that takes only JSON (406)', async function () {
    const session = await open('*/*');
    const ac = new AbortController();
    const stream = await fetch(http.url, { headers: { authorization: 'Bearer key-acme-alice', accept: '*/*', ...session }, signal: ac.signal });
    expect(stream.status).to.equal(200);
    expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
    ac.abort();
    const json = await fetch(http.url, { headers: { authorization: 'Bearer key-acme-alice', accept: 'application/json', ...session } });
    expect(json.status).to.equal(406);
    await json.text();
  });

  it('serves a client whose POSTs take only text/event-stream: every answer, initialize and batches included, is an SSE stream', async function () {
    const accept = 'text/event-stream';
    const events = (text: string) => [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]) as RpcAnswer);
    const init = await post(accept, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'sse-only', version: '1' } } });
    expect(init.status, await init.clone().text()).to.equal(200);
    expect(init.headers.get('content-type')).to.match(/^text\/event-stream/);
    expect(events(await init.text()).map((m) => m.id)).to.deep.equal([0]);
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    expect((await post(accept, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).to.equal(202);
    const call = await post(accept, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'beh__progress', arguments: { steps: 1 } } }, session);
    expect(call.status).to.equal(200);
    expect(call.headers.get('content-type')).to.match(/^text\/event-stream/);
    const text = await call.text();
    // Each event with an id (for Last-Event-ID), and no priming event (an id, empty data): 2025-06-18 clients may not parse one.
    expect(text.split('\n\n').filter((e) => e.trim() !== '').every((e) => /^id: .+$/m.test(e) && /^data: .+$/m.test(e)), text).to.equal(true);
    const answer = events(text).find((m) => m.id === 1)!;
    expect(answer.result!.content).to.deep.equal([{ type: 'text', text: 'done 1' }]);
    const batch = await post(accept, [{ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { jsonrpc: '2.0', id: 3, method: 'ping' }], session);
    expect(batch.status).to.equal(200);
    expect(batch.headers.get('content-type')).to.match(/^text\/event-stream/);
    expect(events(await batch.text()).map((m) => m.id)).to.have.members([2, 3]);
  });

  it('refuses a POST whose Accept takes neither JSON nor an event stream (406, saying what it serves), opening nothing', async function () {
    for (const accept of ['text/html', 'application/json;q=0, text/event-stream;q=0']) {
      const res = await post(accept, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'plain', version: '1' } } });
      expect(res.status, accept).to.equal(406);
      expect(res.headers.get('mcp-session-id'), accept).to.equal(null);
      expect(((await res.json()) as RpcAnswer).error!.message, accept).to.include('application/json or text/event-stream');
    }
  });
});
