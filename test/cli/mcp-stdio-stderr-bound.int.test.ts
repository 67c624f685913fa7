import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const FLOOD = join(__dirname, 'fixtures', 'stderr-flood.cjs');

type Flooded = { grew: number; stderrQueued: number };

/**
 * `openmcp mcp stdio` started by an MCP host that never reads the server's stderr: not only its
 * JSON log, but every write to stderr in the process (console.error from a dependency such as the
 * MCP SDK, console.warn, Node's warnings) is held within LOG_BUFFER_MAX_BYTES, the rest dropped and
 * counted as the log's lines are (docs/operations.md, "Observability": Logs). Stdout stays the protocol's.
 */
describe('openmcp mcp stdio: every write to stderr within LOG_BUFFER_MAX_BYTES, for a host that never reads it', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-stderr-'));
  const ADMIN = 'local-stdio-admin-key-0123456789';
  const MAX = 64 * 1024;
  const FLOODED = 128 * 1024 * 1024;
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a flood of console.error, console.warn and process warnings: memory bounded, stdout only answers, the drops counted, exit 0', async () => {
    const child = spawn(process.execPath, ['--expose-gc', '--require', FLOOD, join(ROOT, 'bin', 'openmcp'), 'mcp', 'stdio'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dir, OPENMCP_ADMIN_KEY: ADMIN, OPENMCP_API_KEY: ADMIN, OPENMCP_CONFIG: '', OPENMCP_EXAMPLES: 'off', LOG_LEVEL: 'info', LOG_BUFFER_MAX_BYTES: String(MAX) },
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
      // Its three pipes are there: with the IPC channel, the typing leaves them possibly null.
    }) as ChildProcessWithoutNullStreams;
    // Bounded: a process that hangs is killed, and fails the checks below.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    // Not read (the host's pipe) until the flood is over.
    child.stderr.pause();
    let stderr = '';
    let stdout = '';
    const answers = new Map<number, unknown>();
    child.stdout.on('data', (d) => {
      stdout += String(d);
      for (const line of stdout.split('\n').slice(0, -1)) {
        const m = JSON.parse(line) as { id?: number };
        if (typeof m.id === 'number') answers.set(m.id, m);
      }
    });
    const answered = async (id: number) => {
      while (!answers.has(id) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(answers.has(id), `answer ${id}; stdout ${stdout.slice(-300)}`).to.equal(true);
    };
    const send = (m: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
    const exited = new Promise<number | string | null>((resolve) => child.on('exit', (c, signal) => resolve(c ?? signal)));
    try {
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
      await answered(1);
      send({ method: 'notifications/initialized' });

      const flooded = new Promise<Flooded>((resolve) => child.once('message', (m: Flooded) => resolve(m)));
      child.send({ flood: FLOODED });
      const f = await flooded;
      expect(f.stderrQueued, 'bytes process.stderr queues').to.be.at.most(MAX);
      // Unbounded, the 128 MiB written would be held (as strings of a few bytes that share one 1000-character line: some 100 MiB).
      expect(f.grew, 'rss growth').to.be.below(32 * 1024 * 1024);

      send({ id: 2, method: 'tools/list', params: {} });
      await answered(2);

      // The host reads again: what was dropped is said with its count, as for the log's own lines.
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.stderr.resume();
      while (!/lines to stderr flow again: \d+ lines were dropped/.test(stderr) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const dropped = Number(/lines to stderr flow again: (\d+) lines were dropped/.exec(stderr)?.[1]);
      expect(dropped, stderr.slice(-300)).to.be.greaterThan(100_000);

      child.disconnect();
      child.stdin.end();
      expect(await exited, stderr.slice(-500)).to.equal(0);
    } finally {
      clearTimeout(timer);
      child.stderr.resume();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // Stdout carries the protocol only.
    for (const line of stdout.trim().split('\n')) expect(JSON.parse(line), line.slice(0, 200)).to.have.property('jsonrpc', '2.0');
    expect(stdout).to.not.include('flood');
  });
});
