import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { McpGateway } from '../../src/mcp/gateway';
import type { BehaviourUpstream } from './support/behaviour-upstream';
import { startBehaviourGateway, type BehaviourGateway } from './support/behaviour-gateway';
import { startGatewayHttp } from './support/clients';

type RpcBody = { id: number | null; result?: Record<string, unknown>; error?: { code: number; message: string; data?: { code?: string } } };

/**
 * A real SDK client whose initialize asks for `version` (the SDK always asks for its latest): its
 * fetch rewrites the request, so the rest is the SDK's own handling of what the gateway answers,
 * the MCP-Protocol-Version header it then sends included. `sent` collects that header per request.
 */
async function clientAsking(url: string, version: string, sent: string[]): Promise<Client> {
  const client = new Client({ name: `client-${version}`, version: '1.0.0' });
  const fetchAs: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const header = headers.get('mcp-protocol-version');
    if (header) sent.push(header);
    let body = init?.body;
    if (typeof body === 'string' && body.includes('"method":"initialize"')) {
      const parsed = JSON.parse(body) as { params: { protocolVersion: string } };
      parsed.params.protocolVersion = version;
      body = JSON.stringify(parsed);
    }
    return fetch(input, { ...init, headers, body });
  };
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchAs, requestInit: { headers: { authorization: 'Bearer key-acme-alice' } } }));
  return client;
}

/**
 * What MCP clients other than the latest TypeScript SDK get from /mcp: each protocol version the
 * SDK supports is negotiated and then served, an unknown one is answered with the latest, the
 * legacy HTTP+SSE transport is refused with a message saying so, and methods the gateway does
 * not serve are -32601, consistent with the capabilities it declares.
 */
describe('/mcp protocol versions, legacy transport and undeclared methods', function () {
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

  const headers = (extra: Record<string, string> = {}) => ({
    authorization: 'Bearer key-acme-alice',
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...extra,
  });
  const post = (body: unknown, extra?: Record<string, string>) => fetch(http.url, { method: 'POST', headers: headers(extra), body: JSON.stringify(body) });
  const initialize = (protocolVersion: string) => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

  for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', LATEST_PROTOCOL_VERSION]) {
    it(`a real SDK client asking for ${version} gets it, and lists and calls tools under it`, async function () {
      const sent: string[] = [];
      const client = await clientAsking(http.url, version, sent);
      try {
        expect(client.getServerCapabilities()).to.deep.equal({ tools: { listChanged: true }, logging: {} });
        // What the client may put in its model's context: how tools are named, and search_tools.
        expect(client.getInstructions()).to.include('<server>__<tool>').and.include('search_tools');
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).to.include('beh__progress');
        const result = await client.callTool({ name: 'beh__progress', arguments: { steps: 1, everyMs: 1 } });
        expect(result.content).to.be.an('array');
        // Every request after initialize named the version negotiated.
        expect(sent).to.not.be.empty;
        expect([...new Set(sent)]).to.deep.equal([version]);
      } finally {
        await client.close();
      }
    });
  }

  it('answers an initialize asking for a version it does not know (older, newer or garbage) with its latest', async function () {
    for (const asked of ['1999-01-01', '2099-01-01', 'draft']) {
      const res = await post(initialize(asked));
      expect(res.status, asked).to.equal(200);
      expect(((await res.json()) as RpcBody).result!.protocolVersion, asked).to.equal(LATEST_PROTOCOL_VERSION);
    }
  });

  it('MCP-Protocol-Version: an unsupported one is 400; none, or another supported one, is served', async function () {
    const init = await post(initialize('2025-03-26'));
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sid })).status).to.equal(202);
    const bad = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2099-01-01' });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as RpcBody).error!.message).to.include('Unsupported protocol version');
    for (const extra of [{}, { 'mcp-protocol-version': '2025-03-26' }, { 'mcp-protocol-version': '2025-06-18' }] as Record<string, string>[]) {
      const res = await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': sid, ...extra });
      expect(res.status, JSON.stringify(extra)).to.equal(200);
      expect(((await res.json()) as RpcBody).result).to.deep.equal({});
    }
  });

  it('refuses the legacy HTTP+SSE transport (SSEClientTransport) with 400, saying which transport it serves', async function () {
    const client = new Client({ name: 'legacy', version: '1.0.0' });
    const transport = new SSEClientTransport(new URL(http.url), {
      eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: 'Bearer key-acme-alice' } }) },
    });
    const err = await client.connect(transport).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(SseError);
    expect((err as SseError).code).to.equal(400);
    // What the client's GET got, in words an operator reading its log can act on.
    const res = await fetch(http.url, { headers: { authorization: 'Bearer key-acme-alice', accept: 'text/event-stream' } });
    expect(res.status).to.equal(400);
    const body = (await res.json()) as RpcBody;
    expect(body.error!.data).to.deep.equal({ code: 'VALIDATION_FAILED' });
    expect(body.error!.message).to.match(/HTTP\+SSE transport .* not served/);
    expect(body.error!.message).to.include('streamable HTTP');
  });

  it('refuses an initialize inside a JSON-RPC batch with 400 saying to send it alone', async function () {
    const res = await post([initialize('2025-03-26')]);
    expect(res.status).to.equal(400);
    const body = (await res.json()) as RpcBody;
    expect(body.error!.data).to.deep.equal({ code: 'VALIDATION_FAILED' });
    expect(body.error!.message).to.match(/initialize .*on its own, not in a JSON-RPC batch/);
    expect(res.headers.get('mcp-session-id')).to.equal(null);
  });

  it('answers what it does not serve with -32601 (no capability declared for it), and ping and logging/setLevel, which it does', async function () {
    const sent: string[] = [];
    const client = await clientAsking(http.url, '2025-03-26', sent);
    try {
      const caps = client.getServerCapabilities()!;
      expect(caps).to.not.have.any.keys('resources', 'prompts', 'completions', 'tasks');
      for (const method of ['resources/list', 'resources/templates/list', 'resources/read', 'prompts/list', 'prompts/get', 'completion/complete', 'tasks/list', 'no/such-method']) {
        const err = await client.request({ method, params: {} } as never, z.unknown() as never).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, method).to.be.instanceOf(McpError);
        expect((err as McpError).code, method).to.equal(ErrorCode.MethodNotFound);
      }
      expect(await client.ping()).to.deep.equal({});
      expect(await client.setLoggingLevel('warning')).to.deep.equal({});
    } finally {
      await client.close();
    }
  });
});
