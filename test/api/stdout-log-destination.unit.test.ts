import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const FIXTURE = join(__dirname, 'fixtures', 'log-then-exit.ts');

/** The fixture run with its stdout `closed` (reader gone before the first line) or read. */
function run(closed: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (closed) child.stdout.destroy();
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

/** docs/operations.md "Logging": the JSON log on a stdout whose reader has gone. */
describe('stdoutLogDestination', function () {
  this.timeout(90_000);

  // Was: pino's exit flush retried the write into the closed pipe every 100 ms, forever; the
  // process hung in its exit handlers until SIGKILL (the fixture's, after 60 s: code SIGKILL).
  it('an exit with lines still queued and the reader gone: exits with its code, not hung in the exit flush', async () => {
    const { code, stderr } = await run(true);
    expect(code, stderr).to.equal(3);
    expect(stderr).to.not.match(/at .*\.(ts|js):\d+/);
  });

  it('an exit with lines still queued and the reader there: every line written', async () => {
    const { code, stdout, stderr } = await run(false);
    expect(code, stderr).to.equal(3);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
  });
});
