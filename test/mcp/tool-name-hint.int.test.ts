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
