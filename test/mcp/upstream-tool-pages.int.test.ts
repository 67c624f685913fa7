import { expect } from 'chai';
import { join } from 'node:path';
import type { ListToolsResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_TOOL_LIMITS } from '../../events/mcp.events';
import { McpGateway } from '../../src/mcp/gateway';
import { listAllTools, MAX_UPSTREAM_TOOL_LIST_BYTES, MAX_UPSTREAM_TOOL_PAGES } from '../../src/mcp/upstream';
import { TOOL_LIST_BYTES } from '../../src/mcp/tool-records';
import { openTempSqliteStore } from './support/stores';

const ENDLESS = join(__dirname, 'support', 'endless-pages-server.ts');
const actor = { kind: 'user' as const, id: 'alice' };

/**
 * An upstream's tools/list in pages is bounded: each page has its deadline, but an upstream
 * paging for ever (a new cursor each time, or the same again) would otherwise hold its connect —
 * and every call, health check and close waiting on it — while its list grows without end.
 */
describe('MCP gateway: an upstream whose tools/list does not end', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    // Each request of the connect has this deadline, initialize included, which waits for the tsx
    // server process to start: seconds on a busy machine (about 4 s at a load average of 10).
    // What must end the listing here is the page bound, not this deadline.
    gateway = new McpGateway({ store: db.store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0, connectTimeoutMs: 30_000 } });
    await gateway.start();
  });
  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  for (const [mode, said] of [
    ['new', `its tools/list did not end within ${MAX_UPSTREAM_TOOL_PAGES} pages`],
    ['same', 'its tools/list does not end (page 2 gave a cursor it had given before)'],
  ] as const) {
    it(`a new cursor on every page (${mode === 'new' ? 'for ever' : 'the same cursor again'}): registered down, saying so, in bounded time`, async () => {
      const server = await gateway.registerServer({
        tenant: 'acme',
        actor,
        name: `endless-${mode}`,
        transport: 'stdio',
        command: process.execPath,
        args: ['--require', require.resolve('tsx/cjs'), ENDLESS, mode],
      });
      expect(server.health).to.equal('down');
      expect(server.healthReason).to.include(said);
      expect(gateway.listTools('acme').filter((t) => t.name.startsWith(`endless-${mode}__`))).to.deep.equal([]);
    });
  }

  it('stops reading once it holds more tools than the catalog keeps (the rest would be left out anyway)', async () => {
    let pages = 0;
    const page = async (cursor?: string): Promise<ListToolsResult> => {
      pages++;
      const from = Number(cursor ?? 0);
      const tools = Array.from({ length: 1000 }, (_, i) => ({ name: `t${from + i}`, inputSchema: { type: 'object' as const } }));
      return { tools, nextCursor: String(from + 1000) };
    };
    const tools = await listAllTools(page, 'big');
    expect(pages).to.equal(Math.floor(MCP_TOOL_LIMITS.tools / 1000) + 1);
    expect(tools.length).to.be.greaterThan(MCP_TOOL_LIMITS.tools);
  });

  it('stops reading once the tools it holds are larger than the catalog could ever record (few tools, each a large page)', async () => {
    // Each page one tool of 1 MiB (a description and schema the record cuts or refuses): 500
    // pages of 10 MiB, the most one message may be, were held all at once before toolRecords
    // looked at them — some 5 GB from one upstream a tenant's operator registered.
    let pages = 0;
    const tool = (n: number) => ({ name: `t${String(n).padStart(3, '0')}`, description: 'd'.repeat(1024 * 1024), inputSchema: { type: 'object' as const } });
    const page = async (cursor?: string): Promise<ListToolsResult> => {
      pages++;
      const n = Number(cursor ?? 0);
      return { tools: [tool(n)], nextCursor: String(n + 1) };
    };
    const tools = await listAllTools(page, 'large');
    // The first page that takes the tools held past the bound is the last read.
    expect(pages).to.equal(Math.floor(MAX_UPSTREAM_TOOL_LIST_BYTES / JSON.stringify(tool(0)).length) + 1);
    expect(tools).to.have.length(pages);
    // What is kept of them is what the catalog records: the tool list of one event at most.
    expect(MAX_UPSTREAM_TOOL_LIST_BYTES).to.be.at.least(TOOL_LIST_BYTES);
  });
});
