/**
 * MCP_TOOL_NOT_FOUND's hint (`did you mean …?`, `tools are named <server>__<tool>, as …`) names
 * only tools the caller's tenant sees: its own servers' and the shared ones'. Another tenant's
 * tool, however close its name, is never suggested (it would tell that the tool exists).
 */
import { expect } from 'chai';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { McpGateway } from '../../src/mcp/gateway';
import { SHARED_TENANT } from '../../src/mcp/types';
import { openTempSqliteStore } from './support/stores';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FastifyInstance } from 'fastify';
import { httpClient, startGatewayHttp } from './support/clients';

const acme = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
const globex = { tenant: 'globex', actor: { kind: 'user' as const, id: 'gina' } };

describe("MCP gateway: an unknown tool's hint names the caller's tenant's tools only", function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gw: McpGateway;
  let upstream: HttpExample;
  before(async () => {
    db = await openTempSqliteStore();
    gw = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, connectTimeoutMs: 30_000 } });
    await gw.start();
    upstream = await startHttpExample();
    for (const [ctx, name] of [[globex, 'secret'], [{ ...acme, tenant: SHARED_TENANT }, 'common']] as const) {
      expect((await gw.registerServer({ ...ctx, name, transport: 'http', url: upstream.url })).health, name).to.equal('up');
    }
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  const told = (ctx: typeof acme, name: string) => gw.callTool(ctx, name, { text: 'hi' }).then(() => 'called', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);

  it("another tenant's tool is not suggested, by its separator, its case or its bare name", async () => {
    for (const name of ['secret_echo', 'Secret__Echo', 'secret-echo']) {
      expect(await told(acme, name)).to.equal(`MCP_TOOL_NOT_FOUND: no tool named ${name}: tools/list and search_tools name the tools this key can call`);
    }
    // The bare name: the shared server's tool only, not globex's secret__echo.
    expect(await told(acme, 'echo')).to.equal('MCP_TOOL_NOT_FOUND: no tool named echo: tools are named <server>__<tool>, as common__echo');
  });

  it("the tenant's own and the shared servers' tools are suggested", async () => {
    expect(await told(globex, 'secret_echo')).to.equal('MCP_TOOL_NOT_FOUND: no tool named secret_echo: did you mean secret__echo? (tools are named <server>__<tool>, two underscores)');
    expect(await told(acme, 'Common_Echo')).to.equal('MCP_TOOL_NOT_FOUND: no tool named Common_Echo: did you mean common__echo? (tools are named <server>__<tool>, two underscores)');
  });
});

describe("MCP gateway: an unknown tool of a server the tenant has says how that server is doing (a real SDK client over /mcp)", function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gw: McpGateway;
  let upstream: HttpExample;
  let http: { app: FastifyInstance; url: string };
  let client: Client;
  // A stdio server that never answers initialize: registered down, none of its tools known.
  const mute = { transport: 'stdio' as const, command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], limits: { connectTimeoutMs: 1_000 } };
  before(async () => {
    db = await openTempSqliteStore();
    gw = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, connectTimeoutMs: 30_000 } });
    await gw.start();
    upstream = await startHttpExample();
    expect((await gw.registerServer({ ...acme, name: 'demo', transport: 'http', url: upstream.url })).health).to.equal('up');
    expect((await gw.registerServer({ ...acme, name: 'lazy', ...mute })).health).to.equal('down');
    expect((await gw.registerServer({ ...globex, name: 'hidden', ...mute })).health).to.equal('down');
    http = await startGatewayHttp(gw);
    client = await httpClient(http.url, 'key-acme-alice');
  });
  after(async () => {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gw?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  const told = (name: string) => client.callTool({ name, arguments: { text: 'hi' } }).then(() => 'called', (e: Error & { data?: { code?: string } }) => `${e.data?.code}: ${e.message}`);

  it('a server registered while down: that it is down, why, and that its tools come once it connects', async () => {
    // Was "no tool named lazy__echo: tools/list and search_tools name the tools this key can call", with the server registered and down.
    expect(await told('lazy__echo')).to.equal(
      "MCP_TOOL_NOT_FOUND: MCP error -32602: no tool named lazy__echo: server lazy is down (lazy: no answer to initialize within 1000 ms, while connecting (the server's own connectTimeoutMs)) and none of its tools is known yet: they are listed (notifications/tools/list_changed) once it connects",
    );
  });

  it('a server that is up: its tools', async () => {
    expect(await told('demo__ehco')).to.equal('MCP_TOOL_NOT_FOUND: MCP error -32602: no tool named demo__ehco: server demo has no such tool; its tools: demo__add, demo__echo, demo__now, demo__reverse');
  });

  it("another tenant's server is not named", async () => {
    expect(await told('hidden__echo')).to.equal('MCP_TOOL_NOT_FOUND: MCP error -32602: no tool named hidden__echo: tools/list and search_tools name the tools this key can call');
  });
});
