/**
 * The drain (`openmcp start`, SIGTERM) against clients that keep their connections alive, as
 * every HTTP client library does: a connection whose request was in flight, or whose event stream
 * was open, when HTTP began to close is ended by the server right after its response, so the
 * HTTP server's close (and the shutdown steps after it) does not wait for the client's keep-alive
 * connection to time out (fastify's 72 s, far past SHUTDOWN_DEADLINE_MS).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { freePort } from '../support/free-port';

/** Hardhat account #3: a sealer key of its own. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

/** What a keep-alive request saw: its answer, and the socket it went on. */
interface Exchange {
  res: IncomingMessage;
  body: Promise<string>;
  socket: Socket;
}

describe('drain with keep-alive clients: connections in use when HTTP closes end after their response', function () {
  this.timeout(120_000);
  let dir: string;
  let chain: LocalChain;
  let a: OpenMcp | undefined;
  let base: string;
  let agent: Agent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-drain-ka-'));
    chain = await startLocalChain({ port: await freePort(), dataDir: join(dir, 'chain') });
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const port = await freePort();
    const servers = join(dir, 'servers.json');
    // The bundled examples server with its test tools (sleep) under another name.
    writeFileSync(servers, JSON.stringify({ mcpServers: { slow: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } } } }));
    const config = loadConfig({
      DATA_DIR: join(dir, `data-${port}`),
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      OPENMCP_ROLES: 'api,gateway',
      MCP_SERVERS_FILE: servers,
      HOST: '127.0.0.1',
      PORT: String(port),
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
      SHUTDOWN_DEADLINE_MS: '10000',
    });
    a = await startOpenMcp(config, { print: () => {} });
    await a.registered;
    base = `http://127.0.0.1:${port}`;
    // What undici, axios and the MCP SDK's fetch do: one connection, kept for the next request.
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(async () => {
    agent.destroy();
    await a?.close();
    a = undefined;
  });

  /** A request on the keep-alive agent; resolves once the answer's head is in. */
  function send(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method, agent, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => (text += c));
        const body = new Promise<string>((r, j) => {
          res.once('end', () => r(text));
          res.once('error', j);
        });
        resolve({ res, body, socket: res.socket });
      });
      req.once('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Resolves when the server ends the connection (its FIN, or a reset), with what happened first. */
  const endedByServer = (socket: Socket) =>
    socket.destroyed ? Promise.resolve() : new Promise<void>((r) => ['end', 'close'].forEach((e) => socket.once(e, () => r())));

  /**
   * What ended within `ms`, the connection (the client hears the server end it) and the drain: without
   * the fix neither comes before the client's keep-alive timeout (72 s). Which the client hears first
   * tells nothing, so the answer is sorted.
   */
  async function ended(drain: Promise<void>, socket: Socket, ms = 15_000): Promise<string[]> {
    const seen: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([drain.then(() => seen.push('drain done')), endedByServer(socket).then(() => seen.push('connection ended'))]),
      new Promise((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
    return seen.sort();
  }

  async function mcpSession(): Promise<Record<string, string>> {
    const headers = { authorization: `Bearer ${a!.generatedAdminKey}`, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
    const init = await send('POST', '/mcp', headers, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'drain', version: '1' } } });
    expect(init.res.statusCode, await init.body).to.equal(200);
    const session = { ...headers, 'mcp-session-id': String(init.res.headers['mcp-session-id']) };
    const ack = await send('POST', '/mcp', session, { jsonrpc: '2.0', method: 'notifications/initialized' });
    await ack.body;
    return session;
  }

  it('a /mcp tool call in flight: answered, then its connection ends and the drain completes (it waited ~72 s for the keep-alive timeout, past the deadline)', async () => {
    const session = await mcpSession();
    const call = send('POST', '/mcp', session, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow__sleep', arguments: { ms: 1_000 } } });
    // The call is in flight (the tool sleeps 1 s) when the drain begins.
    await new Promise((r) => setTimeout(r, 300));
    const drain = a!.drain();
    const { res, body, socket } = await call;
    expect(res.statusCode).to.equal(200);
    expect(await body).to.include('slept 1000');
    expect(res.headers.connection, 'the client is told not to reuse it').to.equal('close');
    expect(await ended(drain, socket)).to.deep.equal(['connection ended', 'drain done']);
  });

  it("a /mcp GET stream open when the drain begins: ended, then its connection, and the drain completes", async () => {
    const session = await mcpSession();
    const { res, body, socket } = await send('GET', '/mcp', { ...session, accept: 'text/event-stream' });
    expect(res.statusCode).to.equal(200);
    const drain = a!.drain();
    await body;
    expect(await ended(drain, socket)).to.deep.equal(['connection ended', 'drain done']);
  });

  it("the dashboard's live stream open when the drain begins: ended, then its connection, and the drain completes", async () => {
    const { res, body, socket } = await send('GET', '/ui/api/stream', { authorization: `Bearer ${a!.generatedAdminKey}` });
    expect(res.statusCode).to.equal(200);
    const drain = a!.drain();
    await body;
    expect(await ended(drain, socket)).to.deep.equal(['connection ended', 'drain done']);
  });
});
