import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import { encodeTaskCursor } from '../../src/readmodels/cursor';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { StreamClientTransport } from './support/stream-client-transport';

const actor = { kind: 'user' as const, id: 'alice' };
const PAGE = 4;

/** Every page of tools/list as the SDK client reads them (the cursor loop agent builders write). */
async function allPages(client: Client, between?: (page: number) => Promise<void>): Promise<Tool[][]> {
  const pages: Tool[][] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    pages.push(page.tools);
    cursor = page.nextCursor;
    if (cursor !== undefined) await between?.(pages.length);
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'refused').to.be.instanceOf(McpError);
  return err as McpError;
}

/**
 * tools/list in pages (MCP pagination: an opaque `cursor`, `nextCursor` while more follow), keyed
 * by tool name so that servers registered or removed while a client pages neither repeat nor skip
 * the tools that stay; a cursor the gateway did not issue is -32602 Invalid params.
 */
describe('MCP gateway: tools/list in pages', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let ups: BehaviourUpstream[] = [];
  let http: { app: FastifyInstance; url: string };
  let client: Client;
  /** acme's catalog tools, as the gateway names them. */
  let expected: string[];

  async function upstream(extra: string[]): Promise<BehaviourUpstream> {
    const u = await startBehaviourUpstream();
    for (const name of extra) u.addTool(name);
    ups.push(u);
    return u;
  }

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, toolsPageSize: PAGE, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const alpha = await upstream(['a1', 'a2', 'a3', 'a4']);
    const beta = await upstream(['b1', 'b2']);
    const shared = await upstream([]);
    const other = await upstream(['secret']);
    await gateway.registerServer({ tenant: 'acme', actor, name: 'alpha', transport: 'http', url: alpha.url });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'beta', transport: 'http', url: beta.url });
    await gateway.registerServer({ tenant: '*', actor, name: 'shared', transport: 'http', url: shared.url });
    await gateway.registerServer({ tenant: 'other', actor, name: 'other', transport: 'http', url: other.url });
    expected = gateway.listTools('acme').map((t) => t.name);
    // hold, progress, media each, plus the extras: more than three pages of four.
    expect(expected).to.have.length(3 * 3 + 4 + 2);
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    for (const u of ups) await u.close();
    ups = [];
    await db?.cleanup();
  });

  function checkListing(pages: Tool[][]): void {
    expect(pages.length).to.equal(Math.ceil((expected.length + 1) / PAGE));
    for (const p of pages) expect(p.length).to.be.within(1, PAGE);
    const names = pages.flat().map((t) => t.name);
    expect(names[0], 'search_tools leads the first page').to.equal('search_tools');
    const rest = names.slice(1);
    expect(rest, 'the catalog, by name, each tool once').to.deep.equal([...expected].sort());
  }

  it('over /mcp: pages of MCP_TOOLS_PAGE_SIZE, search_tools first, then every tool of the tenant by name, once; no other tenant', async function () {
    const pages = await allPages(client);
    checkListing(pages);
    expect(pages.flat().map((t) => t.name)).not.to.include('other__secret');
    // Pages carry the full tool (schemas and all), as the single page did.
    const media = pages.flat().find((t) => t.name === 'alpha__media')!;
    expect(media.outputSchema).to.be.an('object');
  });

  it('over stdio: the same pages', async function () {
    const transport = new StreamClientTransport();
    const session = await runGatewayStdio(gateway, { tenant: 'acme', actor }, { stdin: transport.serverStdin, stdout: transport.serverStdout });
    const c = new Client({ name: 'stdio-test', version: '1.0.0' });
    await c.connect(transport);
    try {
      checkListing(await allPages(c));
      expect((await refusal(c.listTools({ cursor: 'not a cursor' }))).code).to.equal(ErrorCode.InvalidParams);
    } finally {
      await c.close();
      await session.closed;
    }
  });

  it('servers registered and removed while a client pages: tools there throughout are listed once, none twice', async function () {
    const early = await upstream([]);
    const late = await upstream([]);
    let aaa: string | undefined;
    const pages = await allPages(client, async (page) => {
      if (page !== 1) return;
      // Before the cursor's position (sorts first: an offset cursor would repeat tools), after it, and one removed.
      aaa = (await gateway.registerServer({ tenant: 'acme', actor, name: 'aaa', transport: 'http', url: early.url })).id;
      await gateway.registerServer({ tenant: 'acme', actor, name: 'zzz', transport: 'http', url: late.url });
      const beta = gateway.listServers('acme').find((s) => s.name === 'beta')!;
      await gateway.removeServer('acme', beta.id, actor);
    });
    const names = pages.flat().map((t) => t.name);
    expect(new Set(names).size, `no tool twice: ${names.join(' ')}`).to.equal(names.length);
    const stayed = expected.filter((n) => !n.startsWith('beta__'));
    expect(names.filter((n) => stayed.includes(n)).sort()).to.deep.equal([...stayed].sort());
    expect(names.filter((n) => n.startsWith('zzz__')), 'added after the position: listed').to.have.length(3);
    expect(names.filter((n) => n.startsWith('aaa__')), 'added before the position: the next listing has them').to.deep.equal([]);
    // A fresh listing sees the catalog as it is now.
    const now = (await allPages(client)).flat().map((t) => t.name);
    expect(now.filter((n) => n.startsWith('aaa__'))).to.have.length(3);
    expect(now.filter((n) => n.startsWith('beta__'))).to.deep.equal([]);
    await gateway.removeServer('acme', aaa!, actor);
    await gateway.removeServer('acme', gateway.listServers('acme').find((s) => s.name === 'zzz')!.id, actor);
  });

  it('a cursor it did not issue (garbage, edited, another list’s) is -32602 Invalid params with INVALID_CURSOR, and changes nothing', async function () {
    const { nextCursor } = await client.listTools();
    expect(nextCursor).to.be.a('string');
    const edited = Buffer.from(JSON.stringify({ l: 'tasks', a: 'alpha__a1' })).toString('base64url');
    for (const cursor of ['', 'not base64!', Buffer.from('{').toString('base64url'), edited, encodeTaskCursor({ createdAt: '2026-12-05T00:00:00.000Z', id: 'x' }), 'A'.repeat(5000)]) {
      const err = await refusal(client.listTools({ cursor }));
      expect(err.code, cursor).to.equal(ErrorCode.InvalidParams);
      expect(err.data, cursor).to.deep.equal({ code: 'INVALID_CURSOR' });
      expect(err.message).to.match(/cursor/);
    }
    for (const cursor of [5, null, { a: 1 }]) {
      const err = await refusal(client.listTools({ cursor } as never));
      expect([err.code, err.data], JSON.stringify(cursor)).to.deep.equal([ErrorCode.InvalidParams, { code: 'INVALID_CURSOR' }]);
    }
    // The session goes on: the issued cursor still pages.
    const second = await client.listTools({ cursor: nextCursor! });
    expect(second.tools).to.have.length(PAGE);
  });

  it('search_tools still finds tools on any page', async function () {
    const res = await client.callTool({ name: 'search_tools', arguments: { query: 'Added later: a4', k: 3 } });
    const tools = (res.structuredContent as { tools: Tool[] }).tools.map((t) => t.name);
    expect(tools).to.include('alpha__a4');
  });
});
