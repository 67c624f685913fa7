import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

const ROOT = join(__dirname, '..', '..');

type Started = { npm: ChildProcess; url: string; chainPort: number; output(): string; exited: Promise<number | null> };

/** `npm start` as a user runs it: npm, its shell, the gateway (and the local chain), in a process group of their own as at a terminal. */
async function npmStart(dataDir: string): Promise<Started> {
  const port = await freePort();
  const chainPort = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), CHAIN_PORT: String(chainPort), LOG_LEVEL: 'warn', SHUTDOWN_DEADLINE_MS: '20000' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  npm.stdout!.on('data', (d) => (out += d));
  npm.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const deadline = Date.now() + 120_000;
  while (!/listening on/.test(out)) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { npm, url: `http://127.0.0.1:${port}`, chainPort, output: () => out, exited };
}

async function refused(url: string): Promise<boolean> {
  return fetch(url).then(
    () => false,
    () => true,
  );
}

/**
 * docs/operations.md "Draining": SIGINT or SIGTERM drains. Through `npm start` a Ctrl-C reaches the
 * gateway twice (from the terminal and relayed by npm), and npm's own SIGTERM must reach it at all.
 */
describe('stopping the gateway: Ctrl-C and SIGTERM through npm start drain it; a SIGKILL leaves no chain behind', function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  const started: Started[] = [];
  // Each test stops a gateway of its own, on a DATA_DIR of its own: they start side by side here
  // (starting is most of this file's time), each test waits for its own.
  let forSigint: Promise<Started>;
  let forSigterm: Promise<Started>;
  let forSigkill: Promise<GatewayProcess>;
  before(() => {
    const dir = () => (dirs.push(mkdtempSync(join(tmpdir(), 'omc-npm-start-'))), dirs[dirs.length - 1]);
    const track = (p: Promise<Started>) => p.then((s) => (started.push(s), s));
    forSigint = track(npmStart(dir()));
    forSigterm = track(npmStart(dir()));
    forSigkill = startGatewayProcess({}, dir());
    // Waited for in their tests; a failed start fails that test, not this hook.
    for (const p of [forSigint, forSigterm, forSigkill]) p.catch(() => {});
  });
  after(async () => {
    for (const s of started) if (s.npm.pid && s.npm.exitCode === null) process.kill(-s.npm.pid, 'SIGKILL');
    await forSigkill?.then((gw) => gw.stop('SIGKILL')).catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('Ctrl-C (SIGINT to the whole process group) drains once and exits 0; the local chain outlives the drain', async () => {
    const running = await forSigint;
    process.kill(-running.npm.pid!, 'SIGINT');
    const code = await running.exited;
    const out = running.output();
    expect(out).to.match(/SIGINT: draining/);
    expect(out, 'the relayed copy is not a second Ctrl-C').to.not.match(/again: exiting now/);
    expect(out, 'the chain was up while the anchorer drained').to.not.match(/ECONNRESET/);
    expect(code).to.be.oneOf([0, 130]);
    expect(await refused(running.url), 'the API is down').to.equal(true);
    expect(await refused(`http://127.0.0.1:${running.chainPort}`), 'the chain is down').to.equal(true);
  });

  it("SIGTERM to npm's process alone reaches the gateway, which drains and exits, freeing its ports", async () => {
    const running = await forSigterm;
    process.kill(running.npm.pid!, 'SIGTERM');
    await running.exited;
    const deadline = Date.now() + 30_000;
    while (!(await refused(running.url)) || !(await refused(`http://127.0.0.1:${running.chainPort}`))) {
      if (Date.now() > deadline) throw new Error(`the gateway or its chain kept running after npm's SIGTERM:\n${running.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(running.output()).to.match(/SIGTERM: draining/);
  });

  it('a gateway killed with SIGKILL (no clean-up runs) does not leave its local chain holding the port', async () => {
    const gw = await forSigkill;
    expect(await refused(`http://127.0.0.1:${gw.chainPort}`), 'the chain is up').to.equal(false);
    await gw.stop('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (!(await refused(`http://127.0.0.1:${gw.chainPort}`))) {
      if (Date.now() > deadline) throw new Error('the local chain outlived its gateway');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
