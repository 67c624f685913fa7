import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { McpGatewayError } from '../../src/mcp/errors';
import { MAX_UPSTREAM_MESSAGE_BYTES } from '../../src/mcp/bounded-fetch';
import { mcpSessions, readJson } from './support/mcp-sessions';
import { openTempSqliteStore } from './support/stores';

/**
 * An HTTP upstream (one a tenant's operator registers: any public URL) answered as much as it
 * liked: the SDK buffered the whole answer, the gateway hashed it and passed it on, so one answer
 * of a few hundred megabytes, or a few at once, exhausted the memory of the process every tenant
 * shares. Over stdio the SDK reads at most 10 MiB of one message; HTTP and SSE now read no more
 * either, whether the answer is a JSON body or an event of a stream.
 */
describe('an HTTP upstream answering more than 10 MiB in one message fails the call, as over stdio', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  const servers: HttpServer[] = [];
  const actor = { kind: 'user' as const, id: 'alice' };

  function upstream(json: boolean, legacySse = false): Promise<string> {
    const build = () => {
      const server = new Server({ name: 'big', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [{ name: 'big', description: 'Answer `bytes` letters.', inputSchema: { type: 'object' as const, properties: { bytes: { type: 'integer' } } } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (r) => ({ content: [{ type: 'text', text: 'x'.repeat(Number(r.params.arguments?.bytes)) }] }));
      return server;
    };
    const sessions = mcpSessions(build, { json });
    // The older HTTP+SSE transport: every answer is an event of the GET stream.
    const sse = new Map<string, SSEServerTransport>();
    const http = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (legacySse && url.pathname === '/sse') {
        const t = new SSEServerTransport('/messages', res);
        sse.set(t.sessionId, t);
        return void (await build().connect(t));
      }
      if (legacySse && url.pathname === '/messages') {
        const t = sse.get(url.searchParams.get('sessionId') ?? '');
        if (!t) return void res.writeHead(404).end();
        return void (await t.handlePostMessage(req, res, await readJson(req)));
      }
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      await sessions.handle(req, res, body);
    });
    servers.push(http);
    return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(http.address() as AddressInfo).port}/${legacySse ? 'sse' : 'mcp'}`)));
  }

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0, callTimeoutMs: 30_000, retries: 0 } });
    await gateway.start();
    for (const [tenant, name, json] of [['acme', 'json', true], ['acme', 'sse', false], ['*', 'shared', false]] as const) {
      const s = await gateway.registerServer({ tenant, actor, name, transport: 'http', url: await upstream(json) });
      expect(s.health, name).to.equal('up');
    }
    {
      const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'legacy', transport: 'sse', url: await upstream(false, true) });
      expect(s.health, 'legacy').to.equal('up');
    }
  });

  after(async () => {
    await gateway?.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await db?.cleanup();
  });

  // A shared server's errors are told in the gateway's own words only (docs/security.md): this is one.
  for (const name of ['json', 'sse', 'shared', 'legacy']) {
    it(`${name}: an answer over the limit fails MCP_UPSTREAM_UNAVAILABLE saying so, is recorded failed, and the next call is answered`, async () => {
      const head = await db.store.headPosition();
      const err = await gateway.callTool({ tenant: 'acme', actor }, `${name}__big`, { bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call fails').to.be.instanceOf(McpGatewayError);
      expect((err as McpGatewayError).code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
      expect((err as McpGatewayError).message).to.include(`over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`);
      const failed = (await db.store.readAll({ after: head, limit: 100 })).filter((e) => e.type === 'ToolCallFailed');
      expect(failed, 'ToolCallFailed').to.have.length(1);
      const ok = await gateway.callTool({ tenant: 'acme', actor }, `${name}__big`, { bytes: 1000 });
      expect((ok.content as { text: string }[])[0].text).to.have.length(1000);
    });
  }
});
