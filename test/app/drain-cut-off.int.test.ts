/**
 * A drain (`openmcp start`, SIGTERM) ends the requests still in flight at its cut-off (3/4 of
 * SHUTDOWN_DEADLINE_MS), answering them "shutting down" (503 DEPENDENCY_UNAVAILABLE, on /mcp a
 * JSON-RPC error with that code), instead of letting each run to its own timeout past the deadline
 * (an upstream's connection, MCP_CONNECT_TIMEOUT_MS; a tool call, MCP_CALL_TIMEOUT_MS; the chain's
 * RPC, 30 s): the drain returns, and a tool call's ToolCallFailed is in the log before the stores close.
 * The upstreams here never answer by themselves (a stdio server whose gate is never opened, a tool
 * that holds until a file that is never made exists, an RPC node that never answers); the bounds
 * of `settles` are guards for a loaded machine, far below those timeouts, not how long things take.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { openStores } from '../../src/app/open-stores';
import { loadConfig, type Config } from '../../src/config';
import type { RecordedEvent } from '../../src/core/envelope';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';
import { httpClient } from '../mcp/support/clients';
import { GATED_START_SERVER } from '../mcp/support/gated-start-server';
import { until } from '../mcp/support/until';

const ADMIN_KEY = 'drain-cut-off-admin-key-0123456789abcdef';
/** Far past every guard below: without the cut-off, a connect would hold its call (and the drain) this long. */
const CONNECT_TIMEOUT_MS = '120000';
/** The drain's deadline: the cut-off comes at 3/4 of it. */
const DEADLINE_MS = 2_000;
const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

/** `p`, or a failure naming `what` if it has not settled within `ms` (a guard: the thing waited for would otherwise take minutes). */
function settles<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)));
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

describe('drain cut-off: requests waiting on an upstream, a registration or the chain end "shutting down" by the deadline', function () {
  this.timeout(180_000);
  let dir: string;
  let started: string;
  let gate: string;
  let rpc: Server;
  let rpcRequests = 0;
  let a: OpenMcp | undefined;
  let client: Client | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-drain-cut-off-'));
    // An RPC node that takes every request and never answers.
    rpc = createServer(() => void rpcRequests++);
    await new Promise<void>((r) => rpc.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    rpc.closeAllConnections();
    await new Promise((r) => rpc.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    started = join(dir, `started-${Math.random()}`);
    gate = join(dir, `gate-${Math.random()}`);
  });
  afterEach(async () => {
    await client?.close().catch(() => {});
    client = undefined;
    await a?.close();
    a = undefined;
  });

  /** A configuration of its own (data directory) per test; `gated` answers nothing until `gate` exists, `slow` has the test tools (hold). */
  async function config(data: string): Promise<Config> {
    const servers = join(dir, `servers-${data}.json`);
    writeFileSync(
      servers,
      JSON.stringify({
        mcpServers: {
          gated: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, started, gate] },
          slow: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } },
        },
      }),
    );
    const chains = join(dir, `chains-${data}.json`);
    const abi = ['function symbol() view returns (string)', 'function decimals() view returns (uint8)', 'function transfer(address to, uint256 value) returns (bool)'];
    writeFileSync(chains, JSON.stringify({ chains: [{ chainId: 31337, rpcUrl: `http://127.0.0.1:${(rpc.address() as AddressInfo).port}`, contracts: [{ name: 'Token', address: TOKEN, abi }] }] }));
    return loadConfig({
      DATA_DIR: join(dir, data),
      LOG_LEVEL: 'silent',
      OPENMCP_ROLES: 'api,gateway',
      OPENMCP_ADMIN_KEY: ADMIN_KEY,
      OPENMCP_EXAMPLES: 'off',
      MCP_SERVERS_FILE: servers,
      MCP_CONNECT_TIMEOUT_MS: CONNECT_TIMEOUT_MS,
      MCP_HEALTH_INTERVAL_MS: '0',
      CHAINS_FILE: chains,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      // No sealer or anchorer here: the audit chain is never reached.
      CHAIN_RPC_URL: 'http://127.0.0.1:9',
      ANCHOR_CONTRACT: TOKEN,
    });
  }

  /** The log's events of a drained process (its stores closed): read from a store opened again. */
  async function logOf(c: Config): Promise<RecordedEvent[]> {
    const stores = await openStores(c);
    try {
      return await stores.store.readAll({ after: -1, limit: 1000 });
    } finally {
      await stores.close();
    }
  }

  /** What a drained call's MCP error says. */
  function expectShuttingDown(err: unknown): void {
    expect(err, String(err)).to.be.instanceOf(McpError);
    expect((err as McpError).message).to.include('shutting down');
    expect((err as McpError).data).to.deep.include({ code: 'DEPENDENCY_UNAVAILABLE' });
  }

  /** Once `call` is recorded, drain `a`: the call ends "shutting down", the drain returns, the log holds the call Requested then Failed. */
  async function drainsTheCall(c: Config, call: Promise<unknown>): Promise<void> {
    const outcome = call.catch((err: unknown) => err);
    await until('the call recorded', async () => (await a!.store.readAll({ after: -1, limit: 1000, streamPrefix: 'toolcall-' })).some((e) => e.type === 'ToolCallRequested'), 30_000);

    const drain = a!.drain(DEADLINE_MS);
    expectShuttingDown(await settles('the call', outcome));
    await settles('the drain', drain);
    a = undefined;

    const calls = (await logOf(c)).filter((e) => e.stream.startsWith('toolcall-'));
    expect(calls.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
    expect((calls[1].data as { error: { code: string } }).error.code).to.equal('DEPENDENCY_UNAVAILABLE');
  }

  it('a tools/call waiting for its upstream to connect (a later start, the server not started yet): an MCP error "shutting down", ToolCallFailed recorded, the drain returns', async () => {
    const c = await config('connect');
    // A first start registers `gated` and learns its tool; the next one reconnects to it, and it hangs.
    writeFileSync(gate, '');
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    await a.close();
    rmSync(gate);
    rmSync(started);
    a = await startOpenMcp(c, { print: () => {} });
    await until('the server process started', () => existsSync(started));
    client = await httpClient(`${a.url}/mcp`, ADMIN_KEY);
    await drainsTheCall(c, client.callTool({ name: 'gated__ping', arguments: {} }, undefined, { timeout: 170_000 }));
  });

  it('a tools/call running in its upstream (hold): an MCP error "shutting down", ToolCallFailed recorded, the drain returns', async () => {
    const c = await config('running');
    writeFileSync(gate, '');
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    client = await httpClient(`${a.url}/mcp`, ADMIN_KEY);
    await drainsTheCall(c, client.callTool({ name: 'slow__hold', arguments: { path: join(dir, 'never-made') } }, undefined, { timeout: 170_000 }));
  });

  it('POST /v1/mcp-servers waiting for the new server to connect: 503 DEPENDENCY_UNAVAILABLE saying it is registered and that sending it again is safe, McpServerRegistered in the log, the drain returns; the same body sent to the next process: 200 with that server, nothing recorded', async () => {
    const c = await config('register');
    writeFileSync(gate, '');
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    const started2 = join(dir, 'started-new');
    const body = { name: 'newcomer', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, started2, join(dir, 'gate-never')] };
    const res = fetch(`${a.url}/v1/mcp-servers`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await until('the new server process started', () => existsSync(started2), 30_000);

    const drain = a.drain(DEADLINE_MS);
    const answer = await settles('the registration', res);
    const problem = (await answer.json()) as { code: string; detail: string };
    expect(answer.status, JSON.stringify(problem)).to.equal(503);
    expect(problem.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(problem.detail).to.match(/shutting down: MCP server newcomer is registered \(id [^)]+\)/);
    expect(problem.detail).to.contain('sending the same registration again is safe (it answers 200 with this server)').and.not.contain('do not register it again');
    const id = /is registered \(id ([^)]+)\)/.exec(problem.detail)![1];
    expect(answer.headers.get('retry-after')).to.equal(null);
    await settles('the drain', drain);
    a = undefined;

    const registered = (await logOf(c)).filter((e) => e.type === 'McpServerRegistered').map((e) => (e.data as { name: string }).name);
    expect(registered).to.include('newcomer');

    // The client sends it again, to the next process (another replica, or this one restarted): the registered server.
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    const again = await fetch(`${a.url}/v1/mcp-servers`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const server = (await again.json()) as { id: string; name: string };
    expect(again.status, JSON.stringify(server)).to.equal(200);
    expect(server).to.include({ id, name: 'newcomer' });
    expect((await logOf(c)).filter((e) => e.type === 'McpServerRegistered' && (e.data as { name: string }).name === 'newcomer')).to.have.length(1);
  });

  it('POST /v1/mcp-servers of a URL holding credentials, waiting for it to connect: the 503 says the next process answers 409 naming this server, which it does', async () => {
    const c = await config('register-keyed');
    writeFileSync(gate, '');
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    // The RPC node never answers: the new server's initialize waits past the cut-off.
    const body = { name: 'keyed', transport: 'http', url: `http://127.0.0.1:${(rpc.address() as AddressInfo).port}/mcp?api_key=drain-secret-value` };
    const before = rpcRequests;
    const res = fetch(`${a.url}/v1/mcp-servers`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await until('the new server asked', () => rpcRequests > before, 30_000);

    const drain = a.drain(DEADLINE_MS);
    const answer = await settles('the registration', res);
    const problem = (await answer.json()) as { code: string; detail: string };
    expect(answer.status, JSON.stringify(problem)).to.equal(503);
    const id = /is registered \(id ([^)]+)\)/.exec(problem.detail)![1];
    expect(problem.detail).to.contain(`another process answers it 409 MCP_SERVER_EXISTS naming this server (id ${id})`).and.not.contain('it answers 200 with this server');
    expect(JSON.stringify(problem)).to.not.contain('drain-secret-value');
    await settles('the drain', drain);
    a = undefined;

    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    const again = await fetch(`${a.url}/v1/mcp-servers`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const conflict = (await again.json()) as { code: string; detail: string };
    expect(again.status, JSON.stringify(conflict)).to.equal(409);
    expect(conflict.detail).to.contain(`if this is your own registration sent again (its first answer lost), it is server ${id}`);
  });

  it("the dashboard's contract description waiting for the chain's RPC: 503 DEPENDENCY_UNAVAILABLE with Retry-After, the drain returns", async () => {
    const c = await config('contract');
    writeFileSync(gate, '');
    a = await startOpenMcp(c, { print: () => {} });
    await a.registered;
    const before = rpcRequests;
    const res = fetch(`${a.url}/ui/api/contract?chainId=31337&address=${TOKEN}&method=transfer`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    await until('the RPC node asked', () => rpcRequests > before, 30_000);

    const drain = a.drain(DEADLINE_MS);
    const answer = await settles('the description', res);
    const problem = (await answer.json()) as { code: string; detail: string };
    expect(answer.status, JSON.stringify(problem)).to.equal(503);
    expect(problem.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(problem.detail).to.include('shutting down');
    expect(answer.headers.get('retry-after')).to.equal('1');
    await settles('the drain', drain);
    a = undefined;
  });
});
