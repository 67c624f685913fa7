import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import type { McpGateway } from '../../src/mcp/gateway';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

/**
 * docs/errors.md and docs/security.md: a request's id (`x-request-id`, accepted or generated) is
 * the correlationId of the events it appends — a tools/call POSTed to /mcp appends
 * ToolCallRequested and ToolCallCompleted, so a Kafka consumer can tie them to the request's log.
 */
describe('/mcp tools/call: the request id is the correlationId of its ToolCall events', function () {
  this.timeout(60_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let up: HttpExample;
  let base: string;
  let auth: string;

  before(async () => {
    up = await startHttpExample();
    ({ h, gw, close } = await makeGatewayHarness());
    const authenticate = mcpAuthenticate(createAuthenticator({ keys: h.keys }));
    // Both answer paths: JSON bodies (the gateway's own fast path) and SSE streams (the SDK's transport).
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate });
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate, path: '/mcp-sse', enableJsonResponse: false });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    await gw.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'x' }, name: 'remote', transport: 'http', url: up.url });
    auth = (await h.key('operator', 'acme')).auth;
  });
  after(async () => {
    await close();
    await up.close();
  });

  async function callEvents(path: string, headers: Record<string, string>): Promise<{ type: string; correlationId?: string }[]> {
    const client = new Client({ name: 'corr', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(path, base), { requestInit: { headers: { authorization: auth, ...headers } } }));
    try {
      const head = await h.store.headPosition();
      await client.callTool({ name: 'remote__echo', arguments: { text: 'hi' } });
      const events = await h.store.readAll({ after: head, limit: 100 });
      return events.filter((e) => e.type.startsWith('ToolCall')).map((e) => ({ type: e.type, correlationId: e.correlationId }));
    } finally {
      await client.close().catch(() => {});
    }
  }

  for (const path of ['/mcp', '/mcp-sse']) {
    it(`${path}: the caller's x-request-id`, async () => {
      expect(await callEvents(path, { 'x-request-id': `corr-${path.slice(1)}` })).to.deep.equal([
        { type: 'ToolCallRequested', correlationId: `corr-${path.slice(1)}` },
        { type: 'ToolCallCompleted', correlationId: `corr-${path.slice(1)}` },
      ]);
    });
  }

  it('without one (or with one that is not a plain token), the id the gateway generated and answered with', async () => {
    const init = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const head = await h.store.headPosition();
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { authorization: auth, 'mcp-session-id': session, 'x-request-id': 'not a token!', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'remote__echo', arguments: { text: 'raw' } } }),
    });
    expect(res.status).to.equal(200);
    await res.text();
    const id = res.headers.get('x-request-id');
    expect(id).to.be.a('string').and.not.equal('not a token!');
    const events = (await h.store.readAll({ after: head, limit: 100 })).filter((e) => e.type.startsWith('ToolCall'));
    expect(events.map((e) => [e.type, e.correlationId])).to.deep.equal([
      ['ToolCallRequested', id],
      ['ToolCallCompleted', id],
    ]);
  });
});
