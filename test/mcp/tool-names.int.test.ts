import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FastifyInstance } from 'fastify';
import { mcpGatewayService } from '../../src/api/mcp-gateway-service';
import { McpGateway } from '../../src/mcp/gateway';
import { aliasToolName, HOST_SAFE_TOOL_NAME } from '../../src/core/tool-name';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };
const LONG = `report_${'x'.repeat(70)}`;
const ODD = ['files.read', 'get/user', 'say hello', LONG];

/**
 * MCP clients hand our tool names to their LLM host, which refuses names outside
 * ^[a-zA-Z0-9_-]{1,64}$: tools/list shows a host-safe alias for such a name, tools/call takes it
 * (and the exact namespaced name, as before) and the audit keeps the upstream's exact name.
 */
describe('MCP gateway: host-safe tool names', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let http: { app: FastifyInstance; url: string };
  let client: Client;
  const warn = console.warn;

  before(async function () {
    // The upstream's SDK warns, at each session, of names outside MCP's recommended format: they are what this file is about.
    console.warn = () => {};
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    for (const n of ODD) upstream.addTool(n);
    const info = await gateway.registerServer({ tenant: 'acme', actor, name: 'beh', transport: 'http', url: upstream.url });
    expect(info.toolCount).to.equal(3 + ODD.length);
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
    console.warn = warn;
  });

  it('tools/list: every name is host-safe; valid names are unchanged, the others are aliased', async function () {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of names) expect(n).to.match(HOST_SAFE_TOOL_NAME);
    expect(names).to.include.members(['search_tools', 'beh__hold', 'beh__progress', 'beh__media']);
    expect(names).to.include.members(ODD.map((n) => aliasToolName('beh', n)));
    expect(aliasToolName('beh', 'files.read')).to.match(/^beh__files_read_[0-9a-f]{8}$/);
  });

  it('tools/call by the alias reaches the upstream tool of the exact name, and the audit records that name', async function () {
    for (const n of ODD) {
      const r = await client.callTool({ name: aliasToolName('beh', n), arguments: {} });
      expect(r.content).to.deep.equal([{ type: 'text', text: n }]);
    }
    const requested = (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested').map((e) => (e.data as { server: string; tool: string }));
    expect(requested.map((d) => `${d.server}/${d.tool}`)).to.deep.equal(ODD.map((n) => `beh/${n}`));
  });

  it('tools/call by the exact namespaced name still works (as before aliases)', async function () {
    const r = await client.callTool({ name: 'beh__files.read', arguments: {} });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'files.read' }]);
  });

  it('search_tools and the REST search show the name to call', async function () {
    const r = await client.callTool({ name: 'search_tools', arguments: { query: 'files read', k: 20 } });
    const found = (r.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(found).to.include(aliasToolName('beh', 'files.read'));
    for (const n of found) expect(n).to.match(HOST_SAFE_TOOL_NAME);
    const hits = await gateway.searchTools('acme', 'report', 20);
    const hit = hits.find((h) => h.tool.upstreamName === LONG)!;
    expect(hit.tool.name).to.equal(aliasToolName('beh', LONG)).and.have.length(64);
    expect(hit.tool.namespacedName).to.equal(`beh__${LONG}`);
    const rest = await mcpGatewayService(gateway).searchTools('acme', 'report', 20);
    expect(rest.find((h) => h.tool === LONG)).to.include({ name: aliasToolName('beh', LONG), server: 'beh' });
  });

  // GET /v1/tool-calls?tool= takes the name a user copies from /mcp: an alias is resolved here.
  it("the REST face resolves a served name, an alias included, to the server and the upstream's own name", async function () {
    const service = mcpGatewayService(gateway);
    expect(service.servedTool!('acme', aliasToolName('beh', 'files.read'))).to.deep.equal({ server: 'beh', tool: 'files.read' });
    expect(service.servedTool!('acme', aliasToolName('beh', LONG))).to.deep.equal({ server: 'beh', tool: LONG });
    expect(service.servedTool!('acme', 'beh__files.read')).to.equal(undefined);
    expect(service.servedTool!('other-tenant', aliasToolName('beh', 'files.read'))).to.equal(undefined);
  });

  it('another replica reading the same log derives the same names', async function () {
    const other = new McpGateway({ store: db.store, follow: false, upstream: { healthIntervalMs: 0 } });
    await other.start();
    try {
      expect(other.listTools('acme').map((t) => t.name)).to.deep.equal(gateway.listTools('acme').map((t) => t.name));
    } finally {
      await other.close();
    }
  });
});
