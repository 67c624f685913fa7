/**
 * MCP servers that come from the configuration (OPENMCP_EXAMPLES, MCP_SERVERS_FILE), across
 * restarts on the same DATA_DIR, as `openmcp start` runs them: while this process's configuration
 * registers a server at every start, DELETE /v1/mcp-servers/:id and `openmcp mcp servers remove`
 * refuse it naming the setting; once the setting no longer does, an admin removes it like any
 * other server, and it stays removed. (Was: refused for ever, "removed there" when it could not be.)
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import { runMcpServersRemove } from '../../src/cli/mcp-servers';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { freePort } from '../support/free-port';
import { StreamClientTransport } from '../mcp/support/stream-client-transport';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** Hardhat account #2: the roles under test (api) never reach the chain, so none runs. */
const ANCHORER_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const ADMIN_KEY = 'config-servers-test-admin-key-0123456789abcdef';

type ServerItem = { id: string; name: string; tenant: string };

describe('openmcp start: MCP servers from the configuration can be removed once the configuration no longer registers them', function () {
  this.timeout(120_000);
  let dir: string;
  let app: OpenMcp | undefined;
  let upstream: HttpExample;

  before(async () => {
    upstream = await startHttpExample();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-config-servers-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await upstream?.close();
  });

  /** `openmcp start` with the API (and so the gateway) on DATA_DIR, listening on a free port; the previous start is closed first. */
  async function restart(env: Record<string, string>): Promise<OpenMcp> {
    await app?.close();
    app = undefined;
    const config = loadConfig({
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'silent',
      OPENMCP_ROLES: 'api',
      OPENMCP_ADMIN_KEY: ADMIN_KEY,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      CHAIN_RPC_URL: 'http://127.0.0.1:9',
      ANCHOR_CONTRACT: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      ANCHORER_PRIVATE_KEY: ANCHORER_KEY,
      ...env,
    });
    app = await startOpenMcp(config, { print: () => {} });
    // The configuration's servers register in the background (the port opens first): these cases are about what they leave.
    await app.registered;
    return app;
  }

  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  async function servers(a: OpenMcp): Promise<ServerItem[]> {
    const res = await a.app.inject({ url: '/v1/mcp-servers', headers: auth });
    expect(res.statusCode, res.body).to.equal(200);
    return res.json().items;
  }
  const named = async (a: OpenMcp, name: string) => (await servers(a)).find((s) => s.name === name);
  const del = (a: OpenMcp, id: string, key = ADMIN_KEY) => a.app.inject({ method: 'DELETE', url: `/v1/mcp-servers/${id}`, headers: { authorization: `Bearer ${key}` } });
  async function cliRemove(a: OpenMcp, idOrName: string): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const code = await runMcpServersRemove(clientFromEnvironment({ env: { OPENMCP_URL: a.url, OPENMCP_API_KEY: ADMIN_KEY } }), idOrName, (l) => lines.push(l));
    return { code, lines };
  }
  async function removals(a: OpenMcp, id: string) {
    return (await a.store.readStream(`mcpserver-${id}`)).filter((e) => e.type === 'McpServerRemoved');
  }

  it('OPENMCP_EXAMPLES: refused while on, naming the setting; after a restart with off, removed by the CLI (and by REST), recorded with the admin as actor, and still gone after another restart', async () => {
    let a = await restart({ OPENMCP_EXAMPLES: 'on' });
    const first = await named(a, 'examples');
    expect(first, 'registered by OPENMCP_EXAMPLES=on').to.include({ tenant: '*' });
    const refused = await del(a, first!.id);
    expect(refused.statusCode, refused.body).to.equal(403);
    expect(refused.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
    expect(refused.json().detail).to.equal(
      'MCP server examples is registered at every start by this gateway\'s configuration (OPENMCP_EXAMPLES=on): unset OPENMCP_EXAMPLES or set it off, restart, then remove it',
    );
    const cliRefused = await cliRemove(a, 'examples');
    expect(cliRefused.code).to.equal(1);
    expect(cliRefused.lines.join('\n')).to.include('OPENMCP_EXAMPLES=on');
    expect(await named(a, 'examples'), 'still there').to.deep.include({ id: first!.id });

    // The same data, the setting off: the earlier registration stays (another process may have it on), but it can go now.
    a = await restart({ OPENMCP_EXAMPLES: 'off' });
    expect(await named(a, 'examples'), 'an earlier start registered it').to.deep.include({ id: first!.id });
    const removed = await cliRemove(a, 'examples');
    expect(removed, removed.lines.join('\n')).to.deep.equal({ code: 0, lines: [`removed examples (${first!.id})`] });
    expect(await named(a, 'examples')).to.equal(undefined);
    expect(a.gateway!.upstream(first!.id), 'its process is stopped').to.equal(undefined);
    const [event, ...more] = await removals(a, first!.id);
    expect(more).to.have.length(0);
    expect(event).to.deep.include({ version: 1, tenant: '*', actor: { kind: 'user', id: BOOTSTRAP_KEY_ID } });

    a = await restart({ OPENMCP_EXAMPLES: 'off' });
    expect(await named(a, 'examples'), 'stays removed').to.equal(undefined);

    // On again: registered again (a new server), refused again; off again: REST removes it.
    a = await restart({ OPENMCP_EXAMPLES: 'on' });
    const second = await named(a, 'examples');
    expect(second?.id).to.be.a('string').and.not.equal(first!.id);
    expect((await del(a, second!.id)).statusCode).to.equal(403);
    a = await restart({ OPENMCP_EXAMPLES: 'off' });
    const res = await del(a, second!.id);
    expect(res.statusCode, res.body).to.equal(204);
    expect(await named(a, 'examples')).to.equal(undefined);
    expect(await removals(a, second!.id)).to.have.length(1);
  });

  /** `openmcp mcp stdio` on DATA_DIR with `env` (the defaults: as an MCP host starts it), acting as the admin key: the tools it lists. */
  async function stdioTools(env: Record<string, string> = {}): Promise<string[]> {
    await app?.close();
    app = undefined;
    const transport = new StreamClientTransport();
    const running = runMcpStdio(loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent', ...env }), ADMIN_KEY, { stdin: transport.serverStdin, stdout: transport.serverStdout });
    const client = new Client({ name: 'config-servers', version: '1.0.0' });
    try {
      await client.connect(transport);
      return (await client.listTools()).tools.map((t) => t.name);
    } finally {
      await client.close();
      await running;
    }
  }

  it('OPENMCP_EXAMPLES unset (the default): once an admin removed examples, no later start brings it back (openmcp start, mcp stdio); set to on, it comes back and is refused again', async () => {
    let a = await restart({});
    const first = await named(a, 'examples');
    expect(first, 'the default registers it on a fresh database').to.include({ tenant: '*' });
    expect(await stdioTools(), 'mcp stdio reuses it').to.include('examples__echo');

    // Under the default its removal is allowed: it sticks.
    a = await restart({});
    const removed = await cliRemove(a, 'examples');
    expect(removed, removed.lines.join('\n')).to.deep.equal({ code: 0, lines: [`removed examples (${first!.id})`] });

    // An MCP host starts `openmcp mcp stdio` with none of the server's settings.
    expect(await stdioTools(), 'mcp stdio with the defaults').to.not.include('examples__echo');
    a = await restart({});
    expect(await named(a, 'examples'), 'openmcp start with the defaults').to.equal(undefined);
    expect(await removals(a, first!.id)).to.have.length(1);

    // Set on, as a file entry: registered at every start, and its removal refused by that process.
    a = await restart({ OPENMCP_EXAMPLES: 'on' });
    const second = await named(a, 'examples');
    expect(second?.id).to.be.a('string').and.not.equal(first!.id);
    expect((await del(a, second!.id)).json().detail).to.include('(OPENMCP_EXAMPLES=on)');
    // The first one's id stays removed after restarts (read back from the log), not "not found": it names the id the name has now.
    const stale = await del(a, first!.id);
    expect(stale.statusCode, stale.body).to.equal(409);
    expect(stale.json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server examples (${first!.id}) is removed already; a server of that name is registered now as ${second!.id}` });
    // Back to the default: it stays (registered since), is removed, and stays removed.
    a = await restart({});
    expect((await del(a, second!.id)).statusCode).to.equal(204);
    expect(await stdioTools()).to.not.include('examples__echo');
    a = await restart({});
    expect(await named(a, 'examples')).to.equal(undefined);
    expect((await del(a, second!.id)).json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server examples (${second!.id}) is removed already` });
  });

  it('MCP_SERVERS_FILE: an entry is refused while the file lists it, naming the file; once deleted from it (and restarted), removed by REST', async () => {
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { remote: { url: upstream.url }, other: { url: upstream.url } } }));
    let a = await restart({ OPENMCP_EXAMPLES: 'off', MCP_SERVERS_FILE: file });
    const remote = await named(a, 'remote');
    expect(remote).to.include({ tenant: '*' });
    const refused = await del(a, remote!.id);
    expect(refused.statusCode, refused.body).to.equal(403);
    expect(refused.json().detail).to.equal(
      'MCP server remote is registered at every start by this gateway\'s configuration (entry "remote" of MCP_SERVERS_FILE): delete that entry from the file, restart, then remove it',
    );

    writeFileSync(file, JSON.stringify({ mcpServers: { other: { url: upstream.url } } }));
    a = await restart({ OPENMCP_EXAMPLES: 'off', MCP_SERVERS_FILE: file });
    expect((await del(a, remote!.id)).statusCode).to.equal(204);
    const other = await named(a, 'other');
    expect((await del(a, other!.id)).statusCode, 'still in the file').to.equal(403);
    a = await restart({ OPENMCP_EXAMPLES: 'off', MCP_SERVERS_FILE: file });
    expect((await servers(a)).map((s) => s.name)).to.deep.equal(['other']);
    const again = await del(a, remote!.id);
    expect(again.statusCode, again.body).to.equal(409);
    expect(again.json()).to.include({ code: 'INVALID_TRANSITION', detail: `MCP server remote (${remote!.id}) is removed already` });
  });
});
