/**
 * A first start's servers new to the catalog hold listings (tools/list, search_tools) back until
 * they have discovered their tools, but only for a short while (LISTING_HOLD_MS from the hold's
 * start, `listingHoldMs` here): a newcomer that hangs must not keep every client's tools/list
 * waiting for its connect timeout. Calls of a tool not in the catalog still wait for the
 * registration itself (they need the tool), and the newcomer's tools arrive later with
 * notifications/tools/list_changed.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { registerAtStart } from '../../src/app/register-at-start';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { allTools, httpClient, startGatewayHttp } from './support/clients';
import { GATED_START_SERVER } from './support/gated-start-server';
import { hasSettled } from './support/has-settled';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

/** `p`, once it has settled within `ms`; else a failure naming `what` (the old hold answered only once the registration had). */
async function answered<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await until(what, () => done, ms);
  return p;
}

describe('McpGateway.holdListing: a newcomer holds listings for a bounded while, calls of its tools until it settles', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let upstream: BehaviourUpstream;
  let gateway: McpGateway | undefined;
  let http: { app: FastifyInstance; url: string } | undefined;
  let client: Client | undefined;
  let dir: string;

  before(async () => {
    upstream = await startBehaviourUpstream();
  });
  after(async () => {
    await upstream?.close();
  });
  beforeEach(async () => {
    db = await openTempSqliteStore();
    dir = mkdtempSync(join(tmpdir(), 'omc-listing-hold-'));
  });
  afterEach(async () => {
    await client?.close().catch(() => {});
    client = undefined;
    await http?.app.close();
    http = undefined;
    gateway?.releaseListing();
    await gateway?.close();
    gateway = undefined;
    await db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(options: ConstructorParameters<typeof McpGateway>[0]): Promise<McpGateway> {
    gateway = new McpGateway(options);
    await gateway.start();
    http = await startGatewayHttp(gateway);
    return gateway;
  }

  it('a listing waits for a newcomer that settles within the bound, then lists its tools', async () => {
    const gw = await serve({ store: db.store, upstream: { healthIntervalMs: 0 }, listingHoldMs: 600_000 });
    client = await httpClient(http!.url, 'key-acme-alice');
    let release!: () => void;
    gw.holdListing(new Promise<void>((r) => (release = r)));
    let waits = false;
    const listingHeld = gw.listingHeld.bind(gw);
    gw.listingHeld = () => {
      const held = listingHeld();
      waits ||= held !== undefined;
      return held;
    };
    const listing = allTools(client);
    await until('tools/list waits for the newcomer', () => waits);
    expect(await hasSettled(listing), 'held while the newcomer registers').to.equal(false);
    await gw.registerServer({ ...ctx, name: 'beh', transport: 'http', url: upstream.url });
    release();
    expect(await listing).to.include('beh__hold');
  });

  it('past the bound, every page of tools/list and search_tools answer from the catalog while the newcomer still registers, and no later request waits; a call of a tool not in the catalog still waits for it', async () => {
    const gw = await serve({ store: db.store, upstream: { healthIntervalMs: 0 }, toolsPageSize: 1, listingHoldMs: 1 });
    await gw.registerServer({ ...ctx, name: 'beh', transport: 'http', url: upstream.url });
    client = await httpClient(http!.url, 'key-acme-alice');
    let release!: () => void;
    const registration = new Promise<void>((r) => (release = r));
    gw.holdListing(registration);

    // One page per tool (toolsPageSize 1): each answers with the registration still pending.
    const listed = await answered('tools/list, past the bound, while the newcomer registers', allTools(client));
    expect(listed).to.include.members(['search_tools', 'beh__hold', 'beh__media']);
    expect((await gw.searchTools('acme', 'hold')).map((m) => m.tool.name)).to.include('beh__hold');
    expect(await hasSettled(registration), 'the registration is still pending').to.equal(false);
    // The hold is over for good: a later listing does not wait at all (no promise to wait for).
    expect(gw.listingHeld()).to.equal(undefined);

    // A call of a tool not in the catalog waits for the registration: it needs the tool to exist.
    const call = gw.callTool(ctx, 'late__hold', { id: 'late-1', ms: 1 });
    expect(await hasSettled(call), 'the call waits for the newcomer').to.equal(false);
    await gw.registerServer({ ...ctx, name: 'late', transport: 'http', url: upstream.url });
    release();
    expect((await call).isError).to.not.equal(true);
  });

  it("a slow newcomer's tools, discovered after the bound, come with notifications/tools/list_changed", async () => {
    const started = join(dir, 'started');
    const gate = join(dir, 'gate');
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { gated: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, started, gate] } } }));
    // A connect timeout the test never reaches: the server discovers its tools once the gate opens.
    const gw = await serve({ store: db.store, upstream: { healthIntervalMs: 0, connectTimeoutMs: 600_000 }, listingHoldMs: 1 });
    client = await httpClient(http!.url, 'key-acme-alice');
    // Each notification is followed by a listing, as a client does.
    const listings: string[][] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void listings.push(await allTools(client!)));

    const r = registerAtStart(gw, { MCP_SERVERS_FILE: file, OPENMCP_EXAMPLES: 'off' }, { kind: 'system', id: 'openmcp' });
    const first = await answered('tools/list, past the bound, while the newcomer registers', allTools(client));
    expect(first).to.not.include('gated__ping');
    expect(await hasSettled(r.settled), 'answered while the newcomer registers').to.equal(false);
    // Whatever was told so far (the registration's own list_changed: a server with no tools yet) came before its tools.
    expect(listings.flat()).to.not.include('gated__ping');

    writeFileSync(gate, '');
    await until('told of the newcomer\'s tools', () => listings.some((l) => l.includes('gated__ping')));
    await r.settled;
  });
});
