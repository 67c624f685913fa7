import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port';

const ROOT = join(__dirname, '..', '..');

/** Poll `check` every 200 ms until it holds, failing after `ms` with `what` did not happen. */
async function until(what: string, ms: number, check: () => Promise<boolean> | boolean, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} did not happen in ${ms} ms:\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

/**
 * docs/operations.md "Observability" (Logs): `openmcp start | tee log` whose tee dies, a log shipper that
 * goes away. The gateway used to hang for good (answering nothing, deaf to SIGINT/SIGTERM):
 * the CLI exited on stdout's EPIPE, and pino's exit flush retried the write into the closed
 * pipe every 100 ms, forever. It serves on instead, logging lost, said once on stderr.
 */
describe('openmcp start: stdout a pipe whose reader has gone', function () {
  this.timeout(180_000);
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** `openmcp start` with its stdout (and with `stderrToo` its stderr) a pipe whose reader has gone. */
  async function startWithReaderGone(stderrToo: boolean) {
    const port = await freePort();
    const chainPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'start'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'omc-closed-stdout-')), PORT: String(port), CHAIN_PORT: String(chainPort), LOG_LEVEL: 'info', BATCH_MAX_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader gone before the first line: every write meets EPIPE.
    child.stdout!.destroy();
    let stderr = '';
    if (stderrToo) child.stderr!.destroy();
    else child.stderr!.on('data', (d) => (stderr += String(d)));
    let code: number | string | null | undefined;
    const closed = new Promise<void>((resolve) => child!.on('close', (c, signal) => ((code = c ?? signal), resolve())));
    const said = () => `exit code: ${code}\nstderr:\n${stderr}`;

    await until('/healthz answering', 120_000, async () => code !== undefined || (await healthy(url)), said);
    expect(code, `the gateway exited instead of serving on\n${said()}`).to.equal(undefined);
    // Requests go on being logged (into the closed pipe): it still answers after those lines.
    for (let i = 0; i < 5; i++) expect(await healthy(url), said()).to.equal(true);
    // The lines lost counted in the process's own registry, each reason there from the start.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const dropped = (reason: string) => Number(metrics.match(new RegExp(`^openmcp_log_lines_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm'))?.[1]);
    expect(dropped('reader_gone'), `${said()}\n${metrics}`).to.be.greaterThan(0);
    expect([dropped('queue_full'), dropped('write_error')]).to.deep.equal([0, 0]);

    child.kill('SIGTERM');
    await until('the exit after SIGTERM', 60_000, () => code !== undefined, said);
    await closed;
    expect(code, said()).to.equal(0);
    return stderr;
  }

  it('keeps answering /healthz, says on stderr that logging is lost, and SIGTERM drains and exits 0', async () => {
    const stderr = await startWithReaderGone(false);
    expect(stderr).to.match(/log lines to stdout are lost from now on: writing them failed \(EPIPE\)/);
    expect(stderr).to.not.match(/at .*\.(ts|js):\d+/);
  });

  // `openmcp start 2>&1 | tee log` whose tee dies: the note on stderr meets EPIPE as well.
  it('the same with its stderr gone too', async () => {
    await startWithReaderGone(true);
  });
});
