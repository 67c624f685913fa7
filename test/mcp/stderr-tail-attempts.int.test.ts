import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultUpstreamOptions, Upstream } from '../../src/mcp/upstream';

/**
 * One stdio server script, two processes. The first (attempt 1) serves MCP but never answers a
 * ping; asked to stop (its stdin ends: the health check dropped it), it waits until the second has
 * started, then writes four lines of its own to stderr. The second (attempt 2) writes why it fails,
 * waits until the first has written, and exits 1. Markers in `dir` order the two, no timing.
 */
const SCRIPT = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const at = (name) => path.join(dir, name);
const waitFor = (name, then) => (fs.existsSync(at(name)) ? then() : setTimeout(() => waitFor(name, then), 10));
let first = true;
try { fs.closeSync(fs.openSync(at('attempt-1'), 'wx')); } catch { first = false; }
if (!first) {
  process.stderr.write('new: config.json not found\nnew: giving up\n', () => {
    fs.writeFileSync(at('new-started'), '');
    waitFor('old-wrote', () => setTimeout(() => process.exit(1), 200));
  });
} else {
  let buf = '';
  const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
  process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m.method === 'initialize') send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'old', version: '1' } } });
      else if (m.method === 'tools/list') send({ jsonrpc: '2.0', id: m.id, result: { tools: [] } });
      // A ping is never answered: the health check gives up and drops this process.
    }
  });
  process.stdin.on('end', () => {
    fs.writeFileSync(at('old-asked-to-stop'), '');
    waitFor('new-started', () =>
      process.stderr.write('old: shutting down 1\nold: shutting down 2\nold: shutting down 3\nold: shutting down 4\n', () => {
        fs.writeFileSync(at('old-wrote'), '');
        process.exit(0);
      }),
    );
  });
}
`;

/**
 * A stdio upstream's failure quotes its last stderr lines. They were one field of the upstream,
 * which every process it started wrote to: a process being stopped (dropped by a failed health
 * check, the gateway connecting again meanwhile) that wrote on its way out replaced the lines of
 * the process started after it, whose failure then quoted the wrong process.
 */
describe("MCP stdio upstream: a failure quotes its own process's stderr, not that of the process stopped before it", function () {
  this.timeout(30_000);
  let dir: string;
  let u: Upstream | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-stderr-attempts-'));
    writeFileSync(join(dir, 'server.js'), SCRIPT);
  });
  after(async () => {
    await u?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the old process writes to stderr after the new one started: the new one\'s failure quotes only its own lines', async () => {
    u = new Upstream(
      { id: 'u1', tenant: 'acme', name: 'twice', transport: 'stdio', command: process.execPath, args: [join(dir, 'server.js'), dir] },
      { ...defaultUpstreamOptions, callTimeoutMs: 300, connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0 },
      { onHealth: () => {}, onTools: () => {} },
    );
    await u.connect();
    // The ping is not answered: the health check drops the client and stops its process (stdin ends).
    const checked = u.checkHealth();
    while (!existsSync(join(dir, 'old-asked-to-stop'))) await new Promise((r) => setTimeout(r, 10));
    // Connecting again while the old process is still on its way out.
    const failure = await u.connect().then(
      () => expect.fail('the second process exits 1'),
      (err: Error) => err,
    );
    await checked;
    expect(existsSync(join(dir, 'old-wrote')), 'the old process wrote before the new one failed').to.equal(true);
    expect(failure.message).to.include('(stderr: new: config.json not found | new: giving up)');
    expect(failure.message).to.not.include('old:');
  });
});
