import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import { askingStdio, startAskingUpstream } from './support/asking-upstream';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { StreamClientTransport } from './support/stream-client-transport';
import { until } from './support/until';

const alice = { kind: 'user' as const, id: 'alice' };
const system = { kind: 'system' as const, id: 'cfg' };

/** What an asking client saw: the prompts and messages it was asked, and requests whose signal aborted. */
type Asked = { prompts: string[]; messages: string[]; aborted: string[] };

/** Requests with "slow" in them being answered now, by any client, and the most there were at once. */
const slow = { now: 0, most: 0 };
async function answerSlowly<T>(what: string, answer: T): Promise<T> {
  if (!what.includes('slow')) return answer;
  slow.most = Math.max(slow.most, ++slow.now);
  await new Promise((r) => setTimeout(r, 300));
  slow.now--;
  return answer;
}

/**
 * A real SDK client that answers sampling with `<who> says: <prompt>` (model `model-<who>`) and
 * elicitation with `{ name: <who> }`; a prompt or message containing "hang" is never answered
 * (until its request is cancelled), one containing "reject" is answered with error -1.
 */
function askingClient(who: string, asked: Asked, capabilities = true): Client {
  const client = new Client({ name: `asker-${who}`, version: '1.0.0' }, capabilities ? { capabilities: { sampling: {}, elicitation: {} } } : {});
  const hang = (what: string, signal: AbortSignal) =>
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => (asked.aborted.push(what), reject(new Error('aborted')))));
  if (!capabilities) return client;
  client.setRequestHandler(CreateMessageRequestSchema, async (req, extra) => {
    const c = req.params.messages[0].content;
    const prompt = !Array.isArray(c) && c.type === 'text' ? c.text : '?';
    asked.prompts.push(prompt);
    if (prompt.includes('hang')) return hang(prompt, extra.signal);
    if (prompt.includes('reject')) throw Object.assign(new McpError(-1, ''), { message: 'User rejected sampling request' });
    return answerSlowly(prompt, { model: `model-${who}`, role: 'assistant' as const, content: { type: 'text' as const, text: `${who} says: ${prompt}` } });
  });
  client.setRequestHandler(ElicitRequestSchema, async (req, extra) => {
    asked.messages.push(req.params.message);
    if (req.params.message.includes('hang')) return hang(req.params.message, extra.signal);
    return answerSlowly(req.params.message, { action: 'accept' as const, content: { name: who } });
  });
  return client;
}

async function httpAsker(url: string, key: string, who: string, asked: Asked, capabilities = true): Promise<Client> {
  const client = askingClient(who, asked, capabilities);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

const textOf = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;
const fresh = (): Asked => ({ prompts: [], messages: [], aborted: [] });

/**
 * Upstreams' sampling/createMessage and elicitation/create made while serving a tools/call reach
 * the client that made the call (over /mcp and stdio), and its answer or error goes back; a request
 * the gateway cannot tie to exactly one call, or whose caller cannot take it, is refused with a
 * clear error, never sent to another caller.
 */
describe('MCP gateway: sampling and elicitation relayed to the caller', function () {
  this.timeout(90_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let http: { app: FastifyInstance; url: string };
  let upstream: Awaited<ReturnType<typeof startAskingUpstream>>;
  let jsonUpstream: Awaited<ReturnType<typeof startAskingUpstream>>;
  const asked = { alice: fresh(), mallory: fresh(), mute: fresh(), stdio: fresh() };
  let a: Client;
  let m: Client;
  let mute: Client;
  let s: Client;
  let stdioSession: { closed: Promise<void> };

  before(async function () {
    db = await openTempSqliteStore();
    upstream = await startAskingUpstream();
    jsonUpstream = await startAskingUpstream({ json: true });
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const servers = [
      { tenant: 'acme', name: 'askhttp', transport: 'http' as const, url: upstream.url },
      { tenant: 'acme', name: 'askjson', transport: 'http' as const, url: jsonUpstream.url },
      { tenant: 'acme', name: 'askstdio', ...askingStdio },
      { tenant: 'acme', name: 'askslow', transport: 'http' as const, url: upstream.url, limits: { timeoutMs: 1_000 } },
      { tenant: '*', name: 'sharedhttp', transport: 'http' as const, url: upstream.url },
      { tenant: '*', name: 'sharedstdio', ...askingStdio },
    ];
    for (const spec of servers) expect((await gateway.registerServer({ ...spec, actor: spec.tenant === '*' ? system : alice })).health, spec.name).to.equal('up');
    http = await startGatewayHttp(gateway);
    a = await httpAsker(http.url, 'key-acme-alice', 'alice', asked.alice);
    m = await httpAsker(http.url, 'key-beta-mallory', 'mallory', asked.mallory);
    mute = await httpAsker(http.url, 'key-acme-bob', 'bob', asked.mute, false);
    const transport = new StreamClientTransport();
    stdioSession = await runGatewayStdio(gateway, { tenant: 'acme', actor: alice }, { stdin: transport.serverStdin, stdout: transport.serverStdout });
    s = askingClient('stdio', asked.stdio);
    await s.connect(transport);
  });

  after(async function () {
    for (const c of [a, m, mute, s]) await c?.close().catch(() => {});
    await stdioSession?.closed;
    await http?.app.close();
    await gateway?.close();
    await upstream?.close();
    await jsonUpstream?.close();
    await db?.cleanup();
  });

  describe('relayed', () => {
    it('sampling over /mcp from an HTTP upstream: the tool gets the caller’s completion', async () => {
      const r = await a.callTool({ name: 'askhttp__sample', arguments: { prompt: 'hello' } });
      expect(textOf(r)).to.equal('sampled by model-alice: alice says: hello');
      expect(asked.alice.prompts).to.include('hello');
    });

    it('elicitation over /mcp from an HTTP upstream, also when the call asked for progress (an SSE answer)', async () => {
      const r = await a.callTool({ name: 'askhttp__elicit', arguments: { message: 'who are you?' } });
      expect(textOf(r)).to.equal('elicited accept {"name":"alice"}');
      const progressed = await a.callTool({ name: 'askhttp__elicit', arguments: { message: 'again?' } }, undefined, { onprogress: () => {} });
      expect(textOf(progressed)).to.equal('elicited accept {"name":"alice"}');
    });

    it('from a stdio upstream of the tenant, to the stdio client of `openmcp mcp stdio`', async () => {
      expect(textOf(await s.callTool({ name: 'askstdio__sample', arguments: { prompt: 'via stdio' } }))).to.equal('sampled by model-stdio: stdio says: via stdio');
      expect(textOf(await s.callTool({ name: 'askstdio__elicit', arguments: { message: 'name?' } }))).to.equal('elicited accept {"name":"stdio"}');
      expect(textOf(await a.callTool({ name: 'askstdio__elicit', arguments: { message: 'name over http?' } }))).to.equal('elicited accept {"name":"alice"}');
    });

    it('a request the upstream sends apart from the call (its GET stream, or an HTTP upstream answering JSON) while it is the tenant’s only call', async () => {
      expect(textOf(await a.callTool({ name: 'askhttp__sample', arguments: { prompt: 'unrelated', related: false } }))).to.equal('sampled by model-alice: alice says: unrelated');
      expect(textOf(await a.callTool({ name: 'askjson__elicit', arguments: { message: 'json?', related: false } }))).to.equal('elicited accept {"name":"alice"}');
    });

    it('the caller’s error goes back to the upstream as it was answered', async () => {
      const r = await a.callTool({ name: 'askhttp__sample', arguments: { prompt: 'reject this' } });
      expect(textOf(r)).to.equal('refused -1 -: MCP error -1: User rejected sampling request');
      // The call itself is audited as any other: completed, with the tool's own result.
      const outcome = (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallCompleted').pop();
      expect(outcome?.data.resultJson).to.include('User rejected sampling request');
    });

    it('a shared HTTP server called by two tenants at once: each request goes to its own caller, never the other', async () => {
      const [ra, rm] = await Promise.all([
        a.callTool({ name: 'sharedhttp__sample', arguments: { prompt: 'acme secret plan (slow)' } }),
        m.callTool({ name: 'sharedhttp__sample', arguments: { prompt: 'beta secret plan (slow)' } }),
        a.callTool({ name: 'sharedhttp__elicit', arguments: { message: 'acme form (slow)' } }),
        m.callTool({ name: 'sharedhttp__elicit', arguments: { message: 'beta form (slow)' } }),
      ]).then(([x, y, ex, ey]) => {
        expect(textOf(ex)).to.equal('elicited accept {"name":"alice"}');
        expect(textOf(ey)).to.equal('elicited accept {"name":"mallory"}');
        return [x, y];
      });
      expect(textOf(ra)).to.equal('sampled by model-alice: alice says: acme secret plan (slow)');
      expect(textOf(rm)).to.equal('sampled by model-mallory: mallory says: beta secret plan (slow)');
      expect(slow.most, 'the four calls were in flight on the one upstream connection at once').to.equal(4);
      expect(JSON.stringify(asked.mallory)).to.not.include('acme');
      expect(JSON.stringify(asked.alice)).to.not.include('beta');
    });
  });

  describe('refused, with a clear error to the upstream', () => {
    it('a call that came from no MCP client (gateway.callTool, as an agent’s step does)', async () => {
      const r = await gateway.callTool({ tenant: 'acme', actor: alice }, 'askhttp__sample', { prompt: 'from the agent' });
      expect(textOf(r)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: MCP error -32600: sampling\/createMessage: .*no MCP client/);
    });

    it('the caller did not declare the capability: -32601 MCP_CLIENT_REQUEST_REFUSED', async () => {
      const r = await mute.callTool({ name: 'askhttp__sample', arguments: { prompt: 'to a client without sampling' } });
      expect(r.isError).to.equal(true);
      expect(textOf(r)).to.match(/^refused -32601 MCP_CLIENT_REQUEST_REFUSED: .*sampling/);
      const e = await mute.callTool({ name: 'askstdio__elicit', arguments: { message: 'to a client without elicitation' } });
      expect(textOf(e)).to.match(/^refused -32601 MCP_CLIENT_REQUEST_REFUSED: .*elicitation/);
    });

    it('a shared stdio server (one pipe for every tenant, nothing says which call asked): never relayed', async () => {
      const r = await a.callTool({ name: 'sharedstdio__sample', arguments: { prompt: 'shared stdio' } });
      expect(textOf(r)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*shared/);
      expect(asked.alice.prompts).to.not.include('shared stdio');
    });

    it('a shared HTTP server’s request apart from any call’s stream: never relayed', async () => {
      const r = await a.callTool({ name: 'sharedhttp__elicit', arguments: { message: 'shared apart', related: false } });
      expect(textOf(r)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*shared/);
      expect(asked.alice.messages).to.not.include('shared apart');
    });

    it('a stdio upstream with two calls in flight: which one asked is unknown, so neither caller is asked', async () => {
      const upstream = gateway.upstream(gateway.listServers('acme').find((x) => x.name === 'askstdio')!.id)!;
      const [, r] = await Promise.all([
        s.callTool({ name: 'askstdio__wait', arguments: { ms: 3_000 } }),
        (async () => {
          // The second once the first is in flight at the upstream (not 300 ms after it: under
          // load the first could still be on its way, and the second alone in flight).
          await until('the first call is in flight at the upstream', () => upstream.inFlight > 0);
          return a.callTool({ name: 'askstdio__sample', arguments: { prompt: 'ambiguous' } });
        })(),
      ]);
      expect(textOf(r)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*2 calls/);
      expect([...asked.alice.prompts, ...asked.stdio.prompts]).to.not.include('ambiguous');
    });

    it('a tools/call in a JSON-RPC batch (answered as one JSON body by the SDK transport): at once, not when the call times out', async () => {
      const headers = { authorization: 'Bearer key-acme-carol', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
      const post = (body: unknown, extra: Record<string, string> = {}) => fetch(http.url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: { sampling: {} }, clientInfo: { name: 'raw', version: '1' } } });
      const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-03-26' };
      await init.text();
      await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text();
      const t0 = Date.now();
      const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'askhttp__sample', arguments: { prompt: 'batched' } } }], session);
      // The SDK answers a batch of one with the response alone.
      type Answer = { result: CallToolResult };
      const body = (await batch.json()) as Answer | Answer[];
      const answer = Array.isArray(body) ? body[0] : body;
      expect(textOf(answer.result)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*batch/);
      expect(Date.now() - t0).to.be.below(10_000);
    });

    it('a tools/call of a client that takes only JSON answers (Accept: application/json): at once, reason gone, nothing asked', async () => {
      const headers = { authorization: 'Bearer key-acme-dave', accept: 'application/json', 'content-type': 'application/json' };
      const post = (body: unknown, extra: Record<string, string> = {}) => fetch(http.url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 'plain', version: '1' } } });
      expect(init.status).to.equal(200);
      const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
      await init.text();
      await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text();
      const call = await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'askhttp__sample', arguments: { prompt: 'json only' } } }, session);
      expect(call.headers.get('content-type')).to.match(/^application\/json/);
      const answer = (await call.json()) as { result: CallToolResult };
      expect(textOf(answer.result)).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*only JSON/);
    });

    it('a request outside any call', async () => {
      for (const server of ['askhttp', 'askstdio']) {
        expect(textOf(await a.callTool({ name: `${server}__background`, arguments: {} }))).to.equal('asked later');
        // Until the upstream has its answer (not a fixed 500 ms: its request may come later under load).
        let outcome = 'pending';
        for (const end = Date.now() + 10_000; outcome === 'pending' && Date.now() < end; ) {
          await new Promise((res) => setTimeout(res, 50));
          outcome = textOf(await a.callTool({ name: `${server}__background_outcome`, arguments: {} }));
        }
        expect(outcome, server).to.match(/^refused -32600 MCP_CLIENT_REQUEST_REFUSED: .*no tools\/call/);
      }
      expect(asked.alice.prompts).to.not.include('unasked');
    });
  });

  describe('bounded by the call', () => {
    it('cancelling the call cancels the relayed request at the caller', async () => {
      const ac = new AbortController();
      const call = a.callTool({ name: 'askhttp__elicit', arguments: { message: 'hang until cancelled' } }, undefined, { signal: ac.signal }).catch((e: Error) => e);
      await until('the caller is asked', () => asked.alice.messages.includes('hang until cancelled'));
      ac.abort('changed my mind');
      await call;
      await until('the relayed request is cancelled', () => asked.alice.aborted.includes('hang until cancelled'));
    });

    it('a call that times out takes its relayed request with it', async () => {
      const err = await a.callTool({ name: 'askslow__sample', arguments: { prompt: 'hang past the timeout' } }).then(
        () => undefined,
        (e: McpError) => e,
      );
      expect((err?.data as { code?: string } | undefined)?.code).to.equal('MCP_UPSTREAM_TIMEOUT');
      await until('the relayed request is cancelled', () => asked.alice.aborted.includes('hang past the timeout'));
    });
  });
});
