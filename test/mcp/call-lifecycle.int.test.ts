import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ErrorCode, McpError, ToolListChangedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import { MEDIA_RESULT, startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { httpClient, startGatewayHttp } from './support/clients';
import { StreamClientTransport } from './support/stream-client-transport';
import { openTempSqliteStore } from './support/stores';
import { MemoryCache } from '../../src/cache/memory';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };

/** The outcome events (revision 1) of tool calls. */
async function outcomes(store: EventStore): Promise<RecordedEvent[]> {
  return (await store.readAll({ limit: 10_000 })).filter((e) => e.stream.startsWith('toolcall-') && e.revision === 1);
}

/**
 * What an agent builder's MCP client sees of one tools/call through the gateway, over /mcp and
 * stdio: cancellation reaches the upstream and the audit, progress comes back, content and
 * structured results pass intact, and an upstream's changed tools reach the client.
 */
describe('MCP gateway: a call from the client to the upstream and back', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let serverId: string;
  let http: { app: FastifyInstance; url: string };
  let client: Client;

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, callTimeoutMs: 15_000 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    const info = await gateway.registerServer({ tenant: 'acme', actor, name: 'beh', transport: 'http', url: upstream.url, limits: { maxConcurrent: 1 } });
    expect(info.health).to.equal('up');
    serverId = info.id;
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  const inFlight = () => gateway.status().upstreams.find((u) => u.id === serverId)!.inFlight;

  async function failedWith(id: string): Promise<RecordedEvent | undefined> {
    const requested = (await db.store.readAll({ limit: 10_000 })).find(
      (e) => e.type === 'ToolCallRequested' && (e.data as { argumentsJson?: string }).argumentsJson === JSON.stringify({ id }),
    );
    if (!requested) return undefined;
    return (await outcomes(db.store)).find((e) => e.stream === requested.stream);
  }

  it('/mcp: notifications/cancelled cancels the upstream call, frees its slot and is audited as cancelled', async function () {
    const ac = new AbortController();
    const call = client.callTool({ name: 'beh__hold', arguments: { id: 'h1' } }, undefined, { signal: ac.signal });
    await until('the upstream runs the call', () => upstream.started.includes('h1'));
    ac.abort('user pressed stop');
    await call.catch(() => {});
    await until('the upstream sees the cancellation', () => upstream.cancelled.includes('h1'));
    await until('the audit records the outcome', async () => (await failedWith('h1')) !== undefined);
    const outcome = (await failedWith('h1'))!;
    expect(outcome.type).to.equal('ToolCallFailed');
    const error = (outcome.data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('MCP_CALL_CANCELLED');
    expect(error.message, "the client's reason").to.include('user pressed stop');
    await until('the slot is free', () => inFlight() === 0);
  });

  it('/mcp: the POST of a cancelled call ends (202), rather than staying open for an answer that never comes', async function () {
    const headers = { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = (body: unknown, sid?: string) => fetch(http.url, { method: 'POST', headers: { ...headers, ...(sid ? { 'mcp-session-id': sid } : {}) }, body: JSON.stringify(body) });
    const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const sid = init.headers.get('mcp-session-id')!;
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
    for (const [id, meta] of [[41, {}], [42, { _meta: { progressToken: 'p42' } }]] as const) {
      const call = post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'beh__hold', arguments: { id: `raw${id}` }, ...meta } }, sid);
      await until('the upstream runs the call', () => upstream.started.includes(`raw${id}`));
      expect((await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'stop' } }, sid)).status).to.equal(202);
      const res = await Promise.race([call, new Promise<'open'>((r) => setTimeout(() => r('open'), 3_000))]);
      expect(res === 'open' ? 'still open' : res.status, `call ${id}`).to.be.oneOf([200, 202]);
      if (res !== 'open') expect(await res.text(), 'no JSON-RPC answer').to.not.include('"result"');
    }
  });

  it('/mcp: a call cancelled inside a JSON-RPC batch: the batch is answered (the call as -32800 MCP_CALL_CANCELLED), cancelled upstream and audited', async function () {
    const headers = { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = (body: unknown, sid?: string) => fetch(http.url, { method: 'POST', headers: { ...headers, ...(sid ? { 'mcp-session-id': sid } : {}) }, body: JSON.stringify(body) });
    const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).text();
    // The SDK's transport answers a batch as one JSON body once every request in it is answered;
    // a cancelled one never was, so the POST stayed open until the session closed.
    const batch = post(
      [
        { jsonrpc: '2.0', id: 51, method: 'tools/call', params: { name: 'beh__hold', arguments: { id: 'batch51' } } },
        { jsonrpc: '2.0', id: 52, method: 'ping' },
      ],
      sid,
    );
    await until('the upstream runs the call', () => upstream.started.includes('batch51'));
    expect((await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 51, reason: 'stop' } }, sid)).status).to.equal(202);
    const res = await batch;
    expect(res.status).to.equal(200);
    const answers = (await res.json()) as { id: number; result?: unknown; error?: { code: number; data?: { code?: string } } }[];
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(52)!.result).to.deep.equal({});
    expect(byId.get(51)!.result).to.equal(undefined);
    expect(byId.get(51)!.error).to.deep.include({ code: -32800, data: { code: 'MCP_CALL_CANCELLED' } });
    await until('the upstream sees the cancellation', () => upstream.cancelled.includes('batch51'));
    await until('audited as cancelled', async () => ((await failedWith('batch51'))?.data as { error?: { code: string } } | undefined)?.error?.code === 'MCP_CALL_CANCELLED');
  });

  it('/mcp: cancels a call that asked for progress (answered over SSE) just the same', async function () {
    const ac = new AbortController();
    const call = client.callTool({ name: 'beh__hold', arguments: { id: 'sse1' } }, undefined, { signal: ac.signal, onprogress: () => {} }).catch((e: unknown) => e);
    await until('the upstream runs the call', () => upstream.started.includes('sse1'));
    ac.abort();
    await call;
    await until('the upstream sees the cancellation', () => upstream.cancelled.includes('sse1'));
    await until('audited', async () => (await failedWith('sse1')) !== undefined);
    expect((await client.ping()) ?? {}, 'the session still serves').to.deep.equal({});
  });

  it('/mcp: a session waiting on a call longer than the idle timeout is not closed as idle', async function () {
    const short = await startGatewayHttp(gateway, { sessionIdleMs: 200 });
    const c = await httpClient(short.url, 'key-acme-alice');
    try {
      const res = await c.callTool({ name: 'beh__hold', arguments: { id: 'long1', ms: 1_000 } });
      expect(res.content).to.deep.equal([{ type: 'text', text: 'held long1' }]);
      expect(await c.ping(), 'idle counts from the answer').to.deep.equal({});
    } finally {
      await c.close().catch(() => {});
      await short.app.close();
    }
  });

  it('/mcp: over its identity\'s session bound, ends an idle session before one waiting on a call', async function () {
    const bounded = await startGatewayHttp(gateway, { maxSessionsPerIdentity: 2 });
    const busy = await httpClient(bounded.url, 'key-acme-alice');
    const cs = [busy];
    try {
      const call = busy.callTool({ name: 'beh__hold', arguments: { id: 'busy1', ms: 1_500 } });
      await until('the upstream runs the call', () => upstream.started.includes('busy1'));
      const idle = await httpClient(bounded.url, 'key-acme-alice');
      cs.push(idle);
      cs.push(await httpClient(bounded.url, 'key-acme-alice'));
      expect((await call).content, 'the busy session kept its call').to.deep.equal([{ type: 'text', text: 'held busy1' }]);
      const err = await idle.ping().then(() => null, (e: unknown) => e);
      expect((err as { code?: number } | null)?.code, 'the idle one ended').to.equal(404);
    } finally {
      for (const c of cs) await c.close().catch(() => {});
      await bounded.app.close();
    }
  });

  it("/mcp: over its tenant's session bound, ends an idle session (of another identity) before one waiting on a call", async function () {
    const bounded = await startGatewayHttp(gateway, { maxSessionsPerTenant: 2 });
    const busy = await httpClient(bounded.url, 'key-acme-alice');
    const cs = [busy];
    try {
      const call = busy.callTool({ name: 'beh__hold', arguments: { id: 'busy2', ms: 1_500 } });
      await until('the upstream runs the call', () => upstream.started.includes('busy2'));
      const idle = await httpClient(bounded.url, 'key-acme-bob');
      cs.push(idle);
      cs.push(await httpClient(bounded.url, 'key-acme-carol'));
      expect((await call).content, 'the busy session kept its call').to.deep.equal([{ type: 'text', text: 'held busy2' }]);
      const err = await idle.ping().then(() => null, (e: unknown) => e);
      expect((err as { code?: number } | null)?.code, 'the idle one ended').to.equal(404);
    } finally {
      for (const c of cs) await c.close().catch(() => {});
      await bounded.app.close();
    }
  });

  it('/mcp: keeps a session waiting on a long call in the session directory, so other replicas still serve it', async function () {
    const cache = new MemoryCache();
    const options = { cache, sessionIdleMs: 400, sessionRefreshMs: 50 };
    const [a, b] = [await startGatewayHttp(gateway, options), await startGatewayHttp(gateway, options)];
    const c = await httpClient(a.url, 'key-acme-alice');
    try {
      const call = c.callTool({ name: 'beh__hold', arguments: { id: 'dir1', ms: 1_500 } });
      await until('the upstream runs the call', () => upstream.started.includes('dir1'));
      await new Promise((r) => setTimeout(r, 1_000));
      const sid = (c.transport as StreamableHTTPClientTransport).sessionId!;
      const res = await fetch(b.url, {
        method: 'POST',
        headers: { authorization: 'Bearer key-acme-alice', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      expect(res.status, 'the other replica, past the entry\'s TTL').to.equal(200);
      expect((await call).content).to.deep.equal([{ type: 'text', text: 'held dir1' }]);
    } finally {
      await c.close().catch(() => {});
      await a.app.close();
      await b.app.close();
    }
  });

  it('a gateway closing with a call in flight has recorded its outcome when close() resolves', async function () {
    const other = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await other.start();
    await until('the other gateway connects', () => other.upstream(serverId)?.health === 'up');
    const call = other.callTool({ tenant: 'acme', actor }, 'beh__hold', { id: 'c1' }).catch((err: Error) => err);
    await until('the upstream runs the call', () => upstream.started.includes('c1'));
    await other.close();
    const outcome = await failedWith('c1');
    expect(outcome?.type, 'recorded before close() resolved').to.equal('ToolCallFailed');
    expect(await call).to.be.instanceOf(Error);
  });

  it('/mcp: a call cancelled while queued for a slot never reaches the upstream', async function () {
    const first = new AbortController();
    const queued = new AbortController();
    const running = client.callTool({ name: 'beh__hold', arguments: { id: 'q1' } }, undefined, { signal: first.signal }).catch(() => {});
    await until('the first call runs', () => upstream.started.includes('q1'));
    const waiting = client.callTool({ name: 'beh__hold', arguments: { id: 'q2' } }, undefined, { signal: queued.signal }).catch(() => {});
    await until('the second call is recorded', async () => (await db.store.readAll({ limit: 10_000 })).some((e) => (e.data as { argumentsJson?: string }).argumentsJson === '{"id":"q2"}'));
    queued.abort();
    await waiting;
    await until('the queued call is audited as cancelled', async () => (await failedWith('q2')) !== undefined);
    first.abort();
    await running;
    await until('the slot is free', () => inFlight() === 0);
    expect(upstream.started).to.not.include('q2');
  });

  it('/mcp: relays the upstream progress to a client that sent a progressToken', async function () {
    const seen: Progress[] = [];
    const res = await client.callTool({ name: 'beh__progress', arguments: { steps: 3 } }, undefined, { onprogress: (p) => void seen.push(p) });
    expect(res.content).to.deep.equal([{ type: 'text', text: 'done 3' }]);
    expect(seen.map((p) => [p.progress, p.total, p.message])).to.deep.equal([
      [1, 3, 'step 1'],
      [2, 3, 'step 2'],
      [3, 3, 'step 3'],
    ]);
  });

  it('passes every content type, structuredContent and _meta through intact', async function () {
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'beh__media')?.outputSchema).to.have.nested.property('properties.kinds');
    const res = await client.callTool({ name: 'beh__media', arguments: {} });
    expect(res.content).to.deep.equal(MEDIA_RESULT.content);
    expect(res.structuredContent).to.deep.equal(MEDIA_RESULT.structuredContent);
    expect(res._meta).to.deep.equal(MEDIA_RESULT._meta);
  });

  it('keeps the latest tools when listings after quick changes finish out of order', async function () {
    upstream.delayNextList(600);
    upstream.addTool('first');
    await new Promise((r) => setTimeout(r, 100));
    upstream.addTool('second');
    await until('both tools listed', () => ['beh__first', 'beh__second'].every((n) => gateway.listTools('acme').some((t) => t.name === n)), 5_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(gateway.listTools('acme').map((t) => t.name), 'after the late answer').to.include('beh__second');
  });

  it('answers a malformed tools/call with -32602 Invalid params, not -32603', async function () {
    const err = await client
      .request({ method: 'tools/call', params: { name: 'beh__media', arguments: [1, 2] as never } }, CallToolResultSchema)
      .then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(McpError);
    expect((err as McpError).code).to.equal(ErrorCode.InvalidParams);
  });

  it("answers a malformed tools/call in the gateway's words: the field and what it must be, VALIDATION_FAILED, nothing recorded", async function () {
    const before = (await db.store.readAll({ limit: 10_000 })).length;
    const refusal = (params: unknown) =>
      client.request({ method: 'tools/call', params: params as never }, CallToolResultSchema).then(
        () => null,
        (e: McpError) => ({ code: e.code, message: e.message, data: e.data }),
      );
    // Was "MCP error -32602: MCP error -32602: Invalid tools/call request: [ { "expected": "record", … } ]" (zod's issues as JSON, the prefix twice) without error.data.code.
    expect(await refusal({ name: 'beh__media', arguments: [1, 2] })).to.deep.equal({
      code: ErrorCode.InvalidParams,
      message: 'MCP error -32602: tools/call: params.arguments must be an object of the tool\'s arguments by name (not an array, nor a JSON string): Invalid input: expected record, received array',
      data: { code: 'VALIDATION_FAILED' },
    });
    expect(await refusal({ name: 'beh__media', arguments: '{"a":1}' })).to.deep.include({ message: 'MCP error -32602: tools/call: params.arguments must be an object of the tool\'s arguments by name (not an array, nor a JSON string): Invalid input: expected record, received string' });
    expect(await refusal({ arguments: {} })).to.deep.include({ message: 'MCP error -32602: tools/call: params.name: Invalid input: expected string, received undefined' });
    expect((await db.store.readAll({ limit: 10_000 })).length).to.equal(before);
  });

  it('follows an upstream whose tools change: catalog updated and list_changed sent to the client', async function () {
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    upstream.addTool('late');
    await until('the catalog has the new tool', () => gateway.listTools('acme').some((t) => t.name === 'beh__late'), 5_000);
    await until('the client is told', () => changed > 0, 5_000);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).to.include('beh__late');
  });

  describe('over stdio', function () {
    async function stdioClient(): Promise<{ client: SdkClient; transport: StreamClientTransport; closed: Promise<void> }> {
      const transport = new StreamClientTransport();
      const session = await runGatewayStdio(gateway, { tenant: 'acme', actor }, { stdin: transport.serverStdin, stdout: transport.serverStdout });
      const c = new SdkClient({ name: 'stdio-test', version: '1.0.0' });
      await c.connect(transport);
      return { client: c, transport, closed: session.closed };
    }

    it('relays progress and cancels on notifications/cancelled', async function () {
      const { client: c } = await stdioClient();
      try {
        const seen: Progress[] = [];
        await c.callTool({ name: 'beh__progress', arguments: { steps: 2 } }, undefined, { onprogress: (p) => void seen.push(p) });
        expect(seen.map((p) => p.message)).to.deep.equal(['step 1', 'step 2']);

        const ac = new AbortController();
        const call = c.callTool({ name: 'beh__hold', arguments: { id: 's1' } }, undefined, { signal: ac.signal }).catch(() => {});
        await until('the upstream runs the call', () => upstream.started.includes('s1'));
        ac.abort();
        await call;
        await until('the upstream sees the cancellation', () => upstream.cancelled.includes('s1'));
        await until('audited as cancelled', async () => (await failedWith('s1')) !== undefined);
      } finally {
        await c.close();
      }
    });

    it('tells the client when an upstream is registered or its tools change (list_changed)', async function () {
      const { client: c } = await stdioClient();
      try {
        let changed = 0;
        c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
        upstream.addTool('later');
        await until('told of the changed tools', () => changed > 0, 5_000);
        expect((await c.listTools()).tools.map((t) => t.name)).to.include('beh__later');
        changed = 0;
        await gateway.registerServer({ tenant: 'acme', actor, name: 'beh2', transport: 'http', url: upstream.url });
        await until('told of the new server', () => changed > 0, 5_000);
        expect((await c.listTools()).tools.map((t) => t.name)).to.include('beh2__media');
      } finally {
        await c.close();
      }
    });

    it('ends the session when the client goes away (end of stdin), cancelling its call in flight', async function () {
      const { client: c, transport, closed } = await stdioClient();
      void c.callTool({ name: 'beh__hold', arguments: { id: 'e1' } }).catch(() => {});
      await until('the upstream runs the call', () => upstream.started.includes('e1'));
      transport.serverStdin.end();
      await closed;
      await until('the upstream sees the cancellation', () => upstream.cancelled.includes('e1'));
      await until('audited as cancelled', async () => ((await failedWith('e1'))?.data as { error?: { code: string } } | undefined)?.error?.code === 'MCP_CALL_CANCELLED');
      await until('the slot is free', () => inFlight() === 0);
    });
  });
});
