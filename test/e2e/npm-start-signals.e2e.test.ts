import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

const ROOT = join(__dirname, '..', '..');
/**
 * How long a start may take before its test gives up, with the output in the error: a last guard
 * only, well past a cold start (tsx compiling the sources, the chain node) on a loaded machine,
 * and below the tests' own timeout so the output is not lost to mocha's plain "timeout" message.
 */
const START_GUARD_MS = 240_000;

type Watched = {
  output(): string;
  /** Settles once the process has exited and its output is all read (its pipes closed): -1 when a signal ended it. */
  exited: Promise<number | null>;
  /** Resolves once the output matches `pattern`; rejects (with the output) if the process exits first. */
  seen(pattern: RegExp, what: string): Promise<void>;
};

/** A child's stdout and stderr, read as they come, to wait on a line of it rather than on time. */
function watch(child: ChildProcess): Watched {
  let out = '';
  const waiting = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const check of [...waiting]) check();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // 'close', not 'exit': after 'exit' the last lines may still be unread, and a line that must be
  // absent (a second signal's "again: exiting now") would then be missed.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const seen = (pattern: RegExp, what: string) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        waiting.delete(check);
        clearTimeout(guard);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (pattern.test(out)) done();
      };
      const guard = setTimeout(() => done(new Error(`${what}: not within ${START_GUARD_MS} ms:\n${out}`)), START_GUARD_MS);
      waiting.add(check);
      exited.then((code) => waiting.has(check) && done(new Error(`${what}: the process exited (${code}) first:\n${out}`)));
      check();
    });
  return { output: () => out, exited, seen };
}

/** Every start spawned, up or not, for the clean-up. */
const spawned: Started[] = [];

type Started = Watched & { child: ChildProcess; url: string; chainPort: number; /** SIGKILL to all of it (clean-up). */ kill(): void };

/** `openmcp start` on free ports and a DATA_DIR of its own: through `npm start` (as a user runs it), or `node bin/openmcp start`. */
async function spawnStart(dataDir: string, how: 'npm' | 'node', env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const chainPort = await freePort();
  const [command, args] = how === 'npm' ? ['npm', ['start']] : [process.execPath, [join(ROOT, 'bin', 'openmcp'), 'start']];
  const child = spawn(command, args, {
    cwd: ROOT,
    // A generous drain deadline: these tests check that the drain ends the process (exit 0), not how fast.
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), CHAIN_PORT: String(chainPort), LOG_LEVEL: 'warn', SHUTDOWN_DEADLINE_MS: '60000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // npm, its shell and the gateway in a process group of their own, as at a terminal.
    detached: how === 'npm',
  });
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (how === 'npm') process.kill(-child.pid!, 'SIGKILL');
    else child.kill('SIGKILL');
  };
  const s = { child, url: `http://127.0.0.1:${port}`, chainPort, kill, ...watch(child) };
  spawned.push(s);
  return s;
}

/** `npm start` as a user runs it: npm, its shell, the gateway (and the local chain), up and listening. */
async function npmStart(dataDir: string): Promise<Started> {
  const s = await spawnStart(dataDir, 'npm');
  await s.seen(/listening on/, 'npm start comes up');
  return s;
}

/**
 * `openmcp start` sent SIGINT in the middle of its start: once its log says the database is
 * migrated (a fresh DATA_DIR always is), long before it listens (the chain, the HTTP server).
 */
async function signalledWhileStarting(dataDir: string): Promise<Started> {
  const s = await spawnStart(dataDir, 'node', { LOG_LEVEL: 'info' });
  await s.seen(/database migrated/, 'the start migrates the database');
  s.child.kill('SIGINT');
  return s;
}

async function refused(url: string): Promise<boolean> {
  return fetch(url).then(
    () => false,
    () => true,
  );
}

/** Poll `check` (a port's state after a process is gone) until it holds; fails naming `what` after `ms`, a last guard. */
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * docs/operations.md "Draining": SIGINT or SIGTERM drains. Through `npm start` a Ctrl-C reaches the
 * gateway twice (from the terminal and relayed by npm), and npm's own SIGTERM must reach it at all.
 */
describe('stopping the gateway: Ctrl-C and SIGTERM through npm start drain it; a SIGKILL leaves no chain behind', function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  // Each test stops a gateway of its own, on a DATA_DIR of its own: they start side by side here
  // (starting is most of this file's time), each test waits for its own.
  let forSigint: Promise<Started>;
  let forSigterm: Promise<Started>;
  let forEarlySigint: Promise<Started>;
  let forSigkill: Promise<GatewayProcess>;
  before(() => {
    const dir = () => (dirs.push(mkdtempSync(join(tmpdir(), 'omc-npm-start-'))), dirs[dirs.length - 1]);
    forSigint = npmStart(dir());
    forSigterm = npmStart(dir());
    forEarlySigint = signalledWhileStarting(dir());
    forSigkill = startGatewayProcess({}, dir());
    // Waited for in their tests; a failed start fails that test, not this hook.
    for (const p of [forSigint, forSigterm, forEarlySigint, forSigkill]) p.catch(() => {});
  });
  after(async () => {
    for (const s of spawned) s.kill();
    await forSigkill?.then((gw) => gw.stop('SIGKILL')).catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('Ctrl-C (SIGINT to the whole process group) drains once and exits 0; the local chain outlives the drain', async () => {
    const running = await forSigint;
    process.kill(-running.child.pid!, 'SIGINT');
    const code = await running.exited;
    const out = running.output();
    expect(out).to.match(/SIGINT: draining/);
    expect(out, 'the relayed copy is not a second Ctrl-C').to.not.match(/again: exiting now/);
    expect(out, 'the chain was up while the anchorer drained').to.not.match(/ECONNRESET/);
    expect(code).to.be.oneOf([0, 130]);
    expect(await refused(running.url), 'the API is down').to.equal(true);
    expect(await refused(`http://127.0.0.1:${running.chainPort}`), 'the chain is down').to.equal(true);
  });

  it('a SIGINT during the start (before it listens) is not lost: the start finishes, then it drains and exits 0, its chain stopped', async () => {
    const running = await forEarlySigint;
    const code = await running.exited;
    const out = running.output();
    expect(out).to.match(/SIGINT: draining/);
    expect(out.indexOf('SIGINT: draining'), 'the signal came before the start was done').to.be.below(out.indexOf('listening on'));
    expect(out).to.not.match(/again: exiting now|shutdown deadline/);
    expect(code).to.equal(0);
    expect(await refused(running.url), 'the API is down').to.equal(true);
    expect(await refused(`http://127.0.0.1:${running.chainPort}`), 'the chain is down').to.equal(true);
  });

  it("SIGTERM to npm's process alone reaches the gateway, which drains and exits, freeing its ports", async () => {
    const running = await forSigterm;
    process.kill(running.child.pid!, 'SIGTERM');
    await running.exited;
    await until(`the gateway or its chain kept running after npm's SIGTERM:\n${running.output()}`, async () => (await refused(running.url)) && (await refused(`http://127.0.0.1:${running.chainPort}`)));
    expect(running.output()).to.match(/SIGTERM: draining/);
  });

  it('a gateway killed with SIGKILL (no clean-up runs) does not leave its local chain holding the port', async () => {
    const gw = await forSigkill;
    expect(await refused(`http://127.0.0.1:${gw.chainPort}`), 'the chain is up').to.equal(false);
    await gw.stop('SIGKILL');
    await until('the local chain outlived its gateway', () => refused(`http://127.0.0.1:${gw.chainPort}`));
  });
});
