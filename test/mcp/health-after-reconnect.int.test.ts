import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultUpstreamOptions, Upstream } from '../../src/mcp/upstream';

/**
 * One stdio server script, two processes. The first (attempt 1) serves MCP but never answers a
 * ping; asked to stop (its stdin ends: the health check dropped it), it waits until the second has
 * answered a ping, then exits. The second (attempt 2) serves MCP and answers pings. Markers in
 * `dir` order the two, no timing.
 */
const SCRIPT = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const at = (name) => path.join(dir, name);
const waitFor = (name, then) => (fs.existsSync(at(name)) ? then() : setTimeout(() => waitFor(name, then), 10));
let first = true;
try { fs.closeSync(fs.openSync(at('attempt-1'), 'wx')); } catch { first = false; }
let buf = '';
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.method === 'initialize') send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: first ? 'old' : 'new', version: '1' } } });
    else if (m.method === 'tools/list') send({ jsonrpc: '2.0', id: m.id, result: { tools: [] } });
    else if (m.method === 'ping' && !first) {
      send({ jsonrpc: '2.0', id: m.id, result: {} });
      fs.writeFileSync(at('new-answered'), '');
    }
  }
});
process.stdin.on('end', () => {
  if (!first) process.exit(0);
  fs.writeFileSync(at('old-asked-to-stop'), '');
  waitFor('new-answered', () => process.exit(0));
});
`;

/**
 * A failed health check drops the client and waits for its process to end. A call or a connect
 * meanwhile starts a new process, which may be up before the old one has ended: the health check
 * then said 'down' for the process it had dropped, after the new one was up, and the server
 * stayed down (in its McpServerHealthChanged events and GET /v1/mcp-servers) until the next check.
 */
describe('MCP stdio upstream: a failed health check does not mark down the connection opened while it dropped the old one', function () {
  this.timeout(30_000);
  let dir: string;
  let u: Upstream | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-health-reconnect-'));
    writeFileSync(join(dir, 'server.js'), SCRIPT);
  });
  after(async () => {
    await u?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the new process is up (it answered a ping) when the old one ends: the last health said is up', async () => {
    const health: string[] = [];
    u = new Upstream(
      { id: 'u1', tenant: 'acme', name: 'twice', transport: 'stdio', command: process.execPath, args: [join(dir, 'server.js'), dir] },
      { ...defaultUpstreamOptions, callTimeoutMs: 300, connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0 },
      { onHealth: (s) => void health.push(s), onTools: () => {} },
    );
    await u.connect();
    // The ping is not answered: the health check drops the client and stops its process (stdin ends).
    const checked = u.checkHealth();
    while (!existsSync(join(dir, 'old-asked-to-stop'))) await new Promise((r) => setTimeout(r, 10));
    // Connecting again while the old process is still on its way out; the new one answers a ping.
    const client = await u.connect();
    await client.ping();
    await checked;
    expect(u.health).to.equal('up');
    expect(health.at(-1), `health changes said: ${health.join(', ')}`).to.equal('up');
  });
});
