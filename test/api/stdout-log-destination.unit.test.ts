import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { hasKnownQueue, stdoutLogDestination } from '../../src/api/stdout-log-destination';

const FIXTURE = join(__dirname, 'fixtures', 'log-then-exit.ts');

/**
 * The fixture run with its stdout `closed` (reader gone before the first line), `stalled` (a
 * reader that never reads: the pipe fills) or `read`.
 */
function run(stdoutReader: 'closed' | 'stalled' | 'read', args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (stdoutReader === 'closed') child.stdout.destroy();
  else if (stdoutReader === 'stalled') child.stdout.pause();
  else child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal as unknown as null), stdout, stderr });
    }),
  );
}

/** docs/operations.md "Observability" (Logs): the JSON log on a stdout whose reader has gone. */
describe('stdoutLogDestination', function () {
  this.timeout(90_000);

  // The exit flush reads sonic-boom's queue (no public option bounds its flushSync on EPIPE): a
  // sonic-boom whose queue differs gets plain pino's flush, which hangs on EPIPE. Fails here first.
  it("reads the queue of the sonic-boom pino resolves to: an upgrade fails here, not as a hang", () => {
    const { version } = createRequire(require.resolve('pino'))('sonic-boom/package.json') as { version: string };
    expect(version, `sonic-boom ${version}: check flushGivingUp in src/api/stdout-log-destination.ts against its flushSync, then this pin`).to.match(/^4\.2\./);
    const dest = stdoutLogDestination(() => {});
    expect(hasKnownQueue(dest), `sonic-boom ${version} keeps its queue otherwise: the exit flush falls back to its own`).to.equal(true);
    expect(hasKnownQueue({ fd: 1, destroyed: false, _writing: false, _writingBuf: '', _buffers: [] })).to.equal(false);
  });

  // Was: pino's exit flush retried the write into the closed pipe every 100 ms, forever; the
  // process hung in its exit handlers until SIGKILL (the fixture's, after 60 s: code SIGKILL).
  it('an exit with lines still queued and the reader gone: exits with its code, not hung in the exit flush', async () => {
    const { code, stderr } = await run('closed');
    expect(code, stderr).to.equal(3);
    expect(stderr).to.not.match(/at .*\.(ts|js):\d+/);
  });

  // sonic-boom's flushSync retries a full pipe's EAGAIN every 100 ms for as long as it lasts.
  it('an exit with lines still queued and a reader that has stopped reading: exits with its code once the pipe stays full', async () => {
    const { code, stderr } = await run('stalled', ['4000', 'big']);
    expect(code, stderr).to.equal(3);
    expect(stderr).to.match(/log lines to stdout are lost from now on: writing them failed \(EAGAIN\)/);
  });

  it('an exit with lines still queued and the reader there: every line written', async () => {
    const { code, stdout, stderr } = await run('read');
    expect(code, stderr).to.equal(3);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    // Each once; the line whose write was under way at exit may land after the rest, as with
    // sonic-boom's own flushSync (that write is the thread pool's, finishing when it does).
    expect(lines.map((l) => l.i).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
  });
});
