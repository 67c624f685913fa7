import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A gateway stand-in whose log never ends: every page of GET /v1/events has 500 events and a next cursor. */
function endlessLog(): Promise<{ url: string; server: Server }> {
  let position = 0;
  const server = createServer((req, res) => {
    const items = Array.from({ length: 500 }, () => ({
      id: '0193a0c0-0000-7000-8000-000000000000',
      type: 'TaskSubmitted',
      version: 1,
      stream: 'task-x',
      revision: 0,
      position: position++,
      occurredAt: '2026-12-05T00:00:00.000Z',
      tenant: 'default',
      actor: { kind: 'user', id: 'u' },
      data: {},
      hash: `0x${'0'.repeat(64)}`,
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items, nextCursor: `c${position}` }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe('openmcp client commands: a reader that goes away', function () {
  this.timeout(60_000);

  // `openmcp events tail | head`: head exits after its lines; the command must end quietly, as
  // Unix tools do, not with "Error: write EPIPE" and a stack trace on the terminal.
  it('events tail piped into a reader that stops reading: ends quietly, no EPIPE stack', async () => {
    const { url, server } = await endlessLog();
    try {
      const child = spawn(process.execPath, ['bin/openmcp', 'events', 'tail'], {
        env: { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: 'omk_whatever_whatever', OPENMCP_CONFIG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(stderr).to.not.match(/EPIPE|at .*\.ts:\d+/);
      expect(code, stderr).to.equal(0);
    } finally {
      server.close();
    }
  });

  // `set -o pipefail; openmcp verify forged.json | head -1`: the exit code is the verdict, so a
  // reader that stops reading must not turn a failed check (1) into 0, "all checks pass".
  it('verify piped into a reader that is gone: still exits with its verdict', async () => {
    const proof = join(mkdtempSync(join(tmpdir(), 'epipe-')), 'proof.json');
    writeFileSync(proof, '{}');
    const env: NodeJS.ProcessEnv = { ...process.env, OPENMCP_CONFIG: '' };
    delete env.ANCHOR_CONTRACT;
    const child = spawn(process.execPath, ['bin/openmcp', 'verify', proof, '--rpc', 'http://127.0.0.1:9'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    // Gone before the first line: every write meets EPIPE.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).to.not.match(/EPIPE|at .*\.ts:\d+/);
    expect(code, stderr).to.equal(1);
  });
});
