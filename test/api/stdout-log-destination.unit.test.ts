import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasKnownQueue, stdoutLogDestination } from '../../src/api/stdout-log-destination';
import { askLogChild, type LogState as State } from './fixtures/ask-log-child';

const FIXTURE = join(__dirname, 'fixtures', 'log-then-exit.ts');
const ON_REQUEST = join(__dirname, 'fixtures', 'log-on-request.ts');
const IDLE = join(__dirname, 'fixtures', 'log-then-idle.ts');

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
    expect(version, `sonic-boom ${version}: check src/api/stdout-log-destination.ts against it (flushGivingUp against its flushSync; its maxLength and 'drop'; a failed write left in _writingBuf, _len counting it), then this pin`).to.match(/^4\.2\./);
    const dest = stdoutLogDestination({ note: () => {} });
    expect(hasKnownQueue(dest), `sonic-boom ${version} keeps its queue otherwise: the exit flush falls back to its own`).to.equal(true);
    expect(hasKnownQueue({ fd: 1, destroyed: false, _writing: false, _writingBuf: '', _len: 0, _buffers: [] })).to.equal(false);
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

  // The retry after a failed write is a timer: one that held the event loop would keep a process
  // whose writes keep failing alive for ever (each retry failing, another timer).
  it('writes that keep failing (a file at its size limit): a process whose work is done still exits on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-bound-'));
    try {
      const fd = openSync(join(dir, 'out.log'), 'a');
      // 64 blocks of 512 bytes (dash) or 1 KiB (bash): 200 lines of 1 KiB go past it.
      const child = spawn('/bin/sh', ['-c', 'ulimit -S -f 64; exec "$0" "$@"', process.execPath, '--import', 'tsx', IDLE, '200'], { stdio: ['ignore', fd, 'pipe'] });
      closeSync(fd);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += String(d)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise((resolve) => child.on('close', (c, signal) => resolve(c ?? signal)));
      clearTimeout(timer);
      expect(stderr).to.match(/being dropped: writing them failed \(EFBIG\)/);
      expect(code, stderr).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

/** log-on-request.ts run with a queue of `maxBytes`, its stdout `stdout`: ask(request) answers its state after it. */
function logOnRequest(maxBytes: number, stdout: 'pipe' | number, shell?: string) {
  const args = ['--import', 'tsx', ON_REQUEST, String(maxBytes)];
  const child: ChildProcess = shell
    ? spawn('/bin/sh', ['-c', `${shell}; exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', stdout, 'pipe', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', stdout, 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const { ask, exit: stop } = askLogChild(child);
  /** Polls `check` (asking the child `req` each time) until it holds; mocha's timeout ends a wait that never does. */
  const until = async (check: (s: State) => boolean, req: { log: number; tag?: string } = { log: 1 }): Promise<State> => {
    for (;;) {
      const s = await ask(req);
      if (check(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, ask, until, stop, stderr: () => stderr };
}

/** docs/operations.md "Observability" (Logs): a stdout that does not take the lines costs at most LOG_BUFFER_MAX_BYTES. */
describe('stdoutLogDestination: a bounded queue, lines lost counted, the log going on', function () {
  this.timeout(120_000);
  const MAX = 64 * 1024;
  const running: Array<{ stop(): Promise<unknown>; child: ChildProcess }> = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.child.stdout?.resume();
      await r.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  // Was: sonic-boom queued every line for a reader that never reads: memory without bound.
  it('a reader that stays but does not read: the queue stays within its bound, the lines past it counted (queue_full); once it reads, the log flows again, said on stderr with how many were lost', async () => {
    const run = logOnRequest(MAX, 'pipe');
    running.push(run);
    run.child.stdout!.pause();
    // Ten times the bound written while nothing is read.
    let s: State | undefined;
    for (let i = 0; i < 10; i++) {
      s = await run.ask({ log: MAX / 1024 });
      expect(s.queued, 'bytes queued').to.be.at.most(MAX);
    }
    expect(s!.dropped.queue_full, 'lines dropped').to.be.greaterThan(0);
    expect(s!.dropped.write_error).to.equal(0);
    // More lines lost, more counted.
    const before = s!.dropped.queue_full;
    s = await run.ask({ log: MAX / 1024 });
    expect(s.dropped.queue_full).to.be.greaterThan(before);
    expect(s.queued).to.be.at.most(MAX);
    await poll(() => /log lines to stdout are being dropped: stdout is not taking them/.test(run.stderr()));

    let stdout = '';
    run.child.stdout!.on('data', (d) => (stdout += String(d)));
    run.child.stdout!.resume();
    // Each spell of dropping said as it starts and as it ends, with its count (the pipe and the
    // parent's stream take some lines while paused: the queue may have emptied between spells).
    const notes = () => ({ starts: run.stderr().match(/being dropped/g)?.length ?? 0, ends: [...run.stderr().matchAll(/flow again: (\d+) lines were dropped/g)].map((m) => Number(m[1])) });
    await poll(() => notes().ends.length === notes().starts);
    const total = (await run.ask({ log: 0 })).dropped.queue_full;
    expect(notes().ends.reduce((a, b) => a + b, 0), run.stderr()).to.equal(total);
    await run.ask({ log: 1, tag: 'after' });
    await poll(() => stdout.includes('"tag":"after"'));
    expect(stdout.trim().split('\n').every((l) => JSON.parse(l).msg === 'a line'), 'whole lines only').to.equal(true);
    expect(await run.stop()).to.equal(0);
  });

  // Was: any failed write but EPIPE ended the log until a restart.
  it('a write that fails (a file at its size limit, EFBIG): its lines counted (write_error), said once on stderr, and the log goes on once writes succeed again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-bound-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'a');
    // 2048 blocks of 512 bytes (dash, POSIX) or 1 KiB (bash): at least 1 MiB, the file's limit.
    const run = logOnRequest(MAX, fd, 'ulimit -f 2048');
    closeSync(fd);
    running.push(run);
    const failing = await run.until((s) => s.dropped.write_error > 0, { log: 32 });
    expect(failing.queued).to.be.at.most(MAX);
    await poll(() => /log lines to stdout are being dropped: writing them failed \(EFBIG\)/.test(run.stderr()));
    // A spell of queue_full may come and go before (the file taking the lines slower than they are
    // logged); this cause is said once, and the spell lasts while writes fail.
    const efbig = () => run.stderr().slice(run.stderr().indexOf('writing them failed (EFBIG)'));
    expect(run.stderr().match(/being dropped: writing them failed/g), `said once:\n${run.stderr()}`).to.have.length(1);
    // Still failing: counted on (lines logged faster than the failed writes drop them wait, and
    // past the bound are dropped as queue_full); the log has not ended (reader_gone).
    const more = await run.until((s) => s.dropped.write_error > failing.dropped.write_error, { log: 32 });
    expect(more.queued).to.be.at.most(MAX);
    expect(more.dropped.reader_gone).to.equal(0);
    expect(efbig(), 'the spell not said to end while writes fail').to.not.match(/flow again/);

    truncateSync(file, 0);
    // Logged again until written: the queue may still be full (dropping it) as the file is truncated.
    await run.until(() => readFileSync(file, 'utf8').includes('"tag":"after"'), { log: 1, tag: 'after' });
    await poll(() => /log lines to stdout flow again/.test(efbig()));
    const { dropped } = await run.ask({ log: 0 });
    const flowAgain = [...run.stderr().matchAll(/flow again: (\d+) lines were dropped/g)].map((m) => Number(m[1]));
    expect(flowAgain.reduce((a, b) => a + b, 0), run.stderr()).to.equal(dropped.write_error + dropped.queue_full);
    expect(efbig().match(/flow again/g), 'the spell said to end once').to.have.length(1);
    expect(run.stderr()).to.not.match(/lost from now on/);
    expect(await run.stop()).to.equal(0);
  });

  // Was: the line after a write cut short (the file's limit reached mid-line) was written onto the
  // cut line's start, the two one line no JSON reader takes, the second lost without a count.
  it('nothing lost without a count: each line logged is in the file whole, or counted dropped, a line cut by a failed write included', async function () {
    if (spawnSync('prlimit', ['--version']).status !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'log-bound-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'a');
    // The soft limit only: the hard one is raised by privileged processes only.
    const run = logOnRequest(MAX, fd, 'ulimit -S -f 2048');
    closeSync(fd);
    running.push(run);
    let logged = 0;
    const ask = (req: { log: number; tag?: string }) => ((logged += req.log), run.ask(req));
    for (let s = await ask({ log: 32 }); s.dropped.write_error === 0; s = await ask({ log: 32 }));
    // The file's size limit lifted: writes succeed again, after the cut line.
    expect(spawnSync('prlimit', ['--pid', String(run.child.pid), '--fsize=unlimited']).status).to.equal(0);
    await poll(() => readFileSync(file, 'utf8').includes('"tag":"after"'), () => ask({ log: 1, tag: 'after' }));
    await poll(() => /flow again/.test(run.stderr()));
    const { dropped } = await ask({ log: 0 });
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
    const whole = lines.filter((l) => {
      try {
        return JSON.parse(l).msg === 'a line';
      } catch {
        return false;
      }
    });
    const broken = lines.filter((l) => !whole.includes(l));
    expect(broken, 'the cut line only').to.have.length(1);
    expect(broken[0].match(/\{"level"/g), 'no line written onto it').to.have.length(1);
    expect(whole.length + dropped.write_error + dropped.queue_full, `${whole.length} whole, dropped ${JSON.stringify(dropped)}`).to.equal(logged);
    expect(await run.stop()).to.equal(0);
  });

  // Was: a spell begun as queue_full (the file slower than the lines come) was said with that cause
  // only: a failed write (a full disk) in it was counted but never said on stderr.
  it('a write that fails in a spell of dropping begun for another cause: said on stderr too, with its code', async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-bound-'));
    const fd = openSync(join(dir, 'out.log'), 'a');
    // A queue of 4 KiB, 32 lines of 1 KiB a request: each request drops lines (queue_full) before
    // any write of its lines is done, the one that fails among them.
    // 256 blocks of 512 bytes (dash) or 1 KiB (bash): at least 128 KiB, the file's limit.
    const run = logOnRequest(4096, fd, 'ulimit -f 256');
    closeSync(fd);
    running.push(run);
    await run.until((s) => s.dropped.write_error > 0, { log: 32 });
    await poll(() => /being dropped: writing them failed \(EFBIG\)/.test(run.stderr()));
    expect(run.stderr()).to.match(/being dropped: stdout is not taking them/);
    expect(await run.stop()).to.equal(0);
  });

  it('a reader gone (EPIPE): the log ends, said once, every line from then on counted (reader_gone), the process going on', async () => {
    const run = logOnRequest(MAX, 'pipe');
    running.push(run);
    run.child.stdout!.destroy();
    const gone = await run.until((s) => s.dropped.reader_gone > 0);
    await poll(() => /log lines to stdout are lost from now on: writing them failed \(EPIPE\)/.test(run.stderr()));
    expect((await run.ask({ log: 5 })).dropped.reader_gone).to.equal(gone.dropped.reader_gone + 5);
    expect(run.stderr().match(/openmcp: /g), 'said once').to.have.length(1);
    expect(await run.stop()).to.equal(0);
  });
});

/** Waits until `check` holds, looking every 50 ms (after `between`); mocha's timeout ends a wait that never does. */
async function poll(check: () => boolean, between?: () => Promise<unknown>): Promise<void> {
  while (!check()) {
    await between?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}
