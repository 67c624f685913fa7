/**
 * `openmcp start` listens before the MCP servers of its configuration (MCP_SERVERS_FILE,
 * `examples`) have registered, as `openmcp mcp stdio` answers before them: each registration waits
 * for its upstream's connection (up to the connect timeout, 10 s), and the port stayed closed that
 * long — to load balancers' probes too. Here a stdio server that answers nothing until the test
 * opens its gate stands for one slow to start (or, never opened, for one that hangs).
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { REGISTRATIONS_CHECK_NAME } from '../../src/app/registrations-readiness';
import { loadConfig, type Config } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';
import { startBehaviourUpstream, type BehaviourUpstream } from '../mcp/support/behaviour-upstream';
import { allTools, httpClient } from '../mcp/support/clients';
import { GATED_START_SERVER } from '../mcp/support/gated-start-server';
import { hasSettled } from '../mcp/support/has-settled';
import { until } from '../mcp/support/until';

const ADMIN_KEY = 'start-listens-first-admin-key-0123456789abcdef';

type Readiness = { status: string; dependencies: { name: string; state: string; detail?: string }[] };

describe('openmcp start: listens while the MCP servers of its configuration still register', function () {
  this.timeout(120_000);
  let dir: string;
  let started: string;
  let gate: string;
  let app: OpenMcp | undefined;
  let client: Client | undefined;
  let upstream: BehaviourUpstream | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-start-listens-'));
    started = join(dir, 'started');
    gate = join(dir, 'gate');
  });
  afterEach(async () => {
    await client?.close().catch(() => {});
    client = undefined;
    await app?.close();
    app = undefined;
    await upstream?.close();
    upstream = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** `others`: more entries of MCP_SERVERS_FILE beside `gated`; `env`: more settings. */
  async function config(others: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<Config> {
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { gated: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, started, gate] }, ...others } }));
    return loadConfig({
      ...env,
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'silent',
      OPENMCP_ROLES: 'api,gateway',
      OPENMCP_ADMIN_KEY: ADMIN_KEY,
      OPENMCP_EXAMPLES: 'off',
      MCP_SERVERS_FILE: file,
      MCP_HEALTH_INTERVAL_MS: '0',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      // No sealer or anchorer here: the chain is never reached.
      CHAIN_RPC_URL: 'http://127.0.0.1:9',
      ANCHOR_CONTRACT: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    });
  }
  async function readiness(a: OpenMcp): Promise<{ code: number; body: Readiness; line?: Readiness['dependencies'][number] }> {
    const res = await fetch(`${a.url}/readyz`);
    const body = (await res.json()) as Readiness;
    return { code: res.status, body, line: body.dependencies.find((d) => d.name === REGISTRATIONS_CHECK_NAME) };
  }
  const toolCallsRequested = async (a: OpenMcp) => (await a.store.readAll({ after: -1, limit: 1000, streamPrefix: 'toolcall-' })).filter((e) => e.type === 'ToolCallRequested').length;

  it('a later start, the server slow to start: /healthz, /readyz (naming it) and /mcp tools/list (its known tools) answer while it registers; a call to it waits for it, then succeeds', async () => {
    const c = await config();
    writeFileSync(gate, '');
    app = await startOpenMcp(c, { print: () => {} });
    await app.registered;
    await app.close();
    app = undefined;

    rmSync(gate);
    rmSync(started);
    app = await startOpenMcp(c, { print: () => {} });
    const registered = app.registered;
    await until('the server process started', () => existsSync(started));
    expect((await fetch(`${app.url}/healthz`)).status).to.equal(200);
    const ready = await readiness(app);
    expect(ready.code, 'still 200: the process serves').to.equal(200);
    expect(ready.body.status).to.equal('degraded');
    expect(ready.line).to.deep.equal({ name: REGISTRATIONS_CHECK_NAME, state: 'degraded', detail: 'registering 1 of 1: gated (calls to them wait for it)' });

    client = await httpClient(`${app.url}/mcp`, ADMIN_KEY);
    expect((await client.listTools()).tools.map((t) => t.name)).to.include('gated__ping');
    const call = client.callTool({ name: 'gated__ping', arguments: {} });
    await until('the call recorded', async () => (await toolCallsRequested(app!)) === 1);
    expect(await hasSettled(registered), 'registration still in flight').to.equal(false);
    expect(await hasSettled(call), 'the call waits for it').to.equal(false);

    writeFileSync(gate, '');
    expect((await call).content).to.deep.equal([{ type: 'text', text: 'pong' }]);
    await registered;
    // Each check's answer serves /readyz for a second (sharedReadinessCheck).
    await until('/readyz says it registered', async () => (await readiness(app!)).line?.state === 'up');
    expect((await readiness(app)).line).to.deep.equal({ name: REGISTRATIONS_CHECK_NAME, state: 'up', detail: '1 registered' });
  });

  it('a first start: a call of its tool waits for the server new to the catalog, so the call succeeds and tools/list lists it', async () => {
    app = await startOpenMcp(await config(), { print: () => {} });
    client = await httpClient(`${app.url}/mcp`, ADMIN_KEY);
    // Not in the catalog yet: it comes with the first discovery (a newcomer's first task on examples__echo, likewise).
    const call = client.callTool({ name: 'gated__ping', arguments: {} });
    await until('the server process started', () => existsSync(started));
    expect(await hasSettled(app.registered), 'registration still in flight').to.equal(false);
    writeFileSync(gate, '');
    expect((await call).content).to.deep.equal([{ type: 'text', text: 'pong' }]);
    expect((await client.listTools()).tools.map((t) => t.name)).to.include('gated__ping');
  });

  it('a first start, a server new to the catalog hung: every page of /mcp tools/list answers, with the other servers\' tools, once LISTING_HOLD_MS has passed, while its registration still waits for the connect timeout', async () => {
    upstream = await startBehaviourUpstream();
    // One tool per page: a later page must not wait again.
    app = await startOpenMcp(await config({ beh: { url: upstream.url } }, { MCP_TOOLS_PAGE_SIZE: '1' }), { print: () => {} });
    const registered = app.registered;
    const gateway = app.gateway!;
    await until('the other server registered', () => gateway.listTools('*').some((t) => t.name === 'beh__hold'));
    client = await httpClient(`${app.url}/mcp`, ADMIN_KEY);
    const names = await allTools(client);
    expect(names).to.include.members(['search_tools', 'beh__hold', 'beh__media']);
    expect(names).to.not.include('gated__ping');
    expect(await hasSettled(registered), 'the hung server still registering (the connect timeout, 10 s, is far off)').to.equal(false);
  });

  it('shutdown of a first start while a call waits for the server new to the catalog: the call is answered first, not kept till the connect ends (HTTP closes before the gateway)', async () => {
    app = await startOpenMcp(await config(), { print: () => {} });
    const registered = app.registered;
    await until('the server process started', () => existsSync(started));
    const order: string[] = [];
    void registered.then(() => order.push('registration ended'));
    let waits = false;
    const gateway = app.gateway!;
    const newcomersRegistering = gateway.newcomersRegistering.bind(gateway);
    gateway.newcomersRegistering = () => {
      waits = true;
      return newcomersRegistering();
    };
    // A call of a tool not in the catalog waits for it (holdListing), up to the connect timeout.
    client = await httpClient(`${app.url}/mcp`, ADMIN_KEY);
    const answered = client.callTool({ name: 'gated__ping', arguments: {} }).then(
      () => order.push('request answered'),
      (err: unknown) => {
        order.push('request answered');
        return err;
      },
    );
    await until('the call waits for the registration', () => waits);
    expect(await hasSettled(answered), 'the call waits for the registration').to.equal(false);
    await app.close();
    app = undefined;
    // Not found: the server had not discovered its tools when the shutdown began.
    expect(await answered).to.be.instanceOf(McpError);
    // The gateway (closed after HTTP) ends the registration: a request waiting for it kept HTTP from closing till the connect timed out.
    expect(order).to.deep.equal(['request answered', 'registration ended']);
  });

  it('shutdown while it registers: close() waits for the registration to end', async () => {
    app = await startOpenMcp(await config(), { print: () => {} });
    const registered = app.registered;
    await until('the server process started', () => existsSync(started));
    expect(await hasSettled(registered)).to.equal(false);
    await app.close();
    app = undefined;
    expect(await hasSettled(registered), 'settled once close() returned').to.equal(true);
  });
});
