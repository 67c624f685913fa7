/**
 * A PORT, or the embedded chain's CHAIN_PORT, that something else holds stops `openmcp start`
 * before anything is made or started, as a bad settings file does (policy-file-start.int.test.ts):
 * no database, no bootstrap key, no chain — it was refused only at the end, once the database was
 * migrated, a key printed and the chain deployed. The log holds no stack trace of the chain node.
 * (A port taken after that first check still fails at listen: bootstrap-key-print.int.test.ts.)
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type StartOptions } from '../../src/main';
import { freePort } from '../support/free-port';

describe('openmcp start: a PORT or CHAIN_PORT already in use', function () {
  this.timeout(60_000);
  let dir: string;
  const taken: Server[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-taken-port-'));
  });
  afterEach(async () => {
    for (const s of taken.splice(0)) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A free 127.0.0.1 port, then held by a server of this test. */
  async function takenPort(): Promise<number> {
    const port = await freePort();
    const s = createServer();
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    taken.push(s);
    return port;
  }

  /** Starts with these settings; the error, what was printed and what was logged. */
  async function start(env: Record<string, string>, options: StartOptions = {}) {
    const data = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'info', OPENMCP_EXAMPLES: 'off', HOST: '127.0.0.1', ...env });
    const lines: string[] = [];
    const log: string[] = [];
    const err = await startOpenMcp(config, { print: (l) => lines.push(l), logStream: { write: (l: string) => void log.push(l) }, ...options }).then(
      async (app) => void (await app.close()),
      (e: unknown) => e,
    );
    return { err, lines, log, made: existsSync(data) ? readdirSync(data) : [] };
  }

  it('a taken PORT: CONFIG_INVALID naming it, before the database, the bootstrap key or the chain exist', async () => {
    const port = await takenPort();
    const r = await start({ PORT: String(port), CHAIN_PORT: String(await freePort()) });
    expect(r.err).to.have.property('code', 'CONFIG_INVALID');
    expect(r.err).to.have.nested.property('details.variable', 'PORT');
    expect((r.err as Error).message).to.equal(`PORT: 127.0.0.1:${port} is already in use: set PORT (or HOST) to a free address`);
    expect(r.made, 'nothing made in DATA_DIR').to.deep.equal([]);
    expect(r.lines, 'no bootstrap key printed').to.deep.equal([]);
  });

  it('a taken CHAIN_PORT: CONFIG_INVALID naming it, before anything is made, and no stack trace in the log', async () => {
    const port = await takenPort();
    const r = await start({ PORT: String(await freePort()), CHAIN_PORT: String(port) });
    expect(r.err).to.have.property('code', 'CONFIG_INVALID');
    expect(r.err).to.have.nested.property('details.variable', 'CHAIN_PORT');
    expect((r.err as Error).message).to.equal(`CHAIN_PORT: 127.0.0.1:${port} is already in use: set CHAIN_PORT to a free port for the embedded chain, or CHAIN_RPC_URL (with ANCHOR_CONTRACT) to anchor on a chain of your own`);
    expect(r.made, 'nothing made in DATA_DIR').to.deep.equal([]);
    expect(r.lines, 'no bootstrap key printed').to.deep.equal([]);
    expect(r.log.join('')).to.not.match(/EADDRINUSE|\n\s+at /);
  });

  it('both taken (a second `npm start` beside a running one): one CONFIG_INVALID naming both, so a single retry with two free ports works (was: CHAIN_PORT alone, then PORT on the next try)', async () => {
    const port = await takenPort();
    const chainPort = await takenPort();
    const r = await start({ PORT: String(port), CHAIN_PORT: String(chainPort) });
    expect(r.err).to.have.property('code', 'CONFIG_INVALID');
    expect(r.err).to.have.nested.property('details.variable', 'CHAIN_PORT');
    expect(r.err).to.have.deep.nested.property('details.variables', ['CHAIN_PORT', 'PORT']);
    expect((r.err as Error).message).to.equal(
      `CHAIN_PORT: 127.0.0.1:${chainPort} and PORT: 127.0.0.1:${port} are already in use (a gateway running already?): set both to free ports, e.g. PORT=18080 CHAIN_PORT=18545`,
    );
    expect(r.made, 'nothing made in DATA_DIR').to.deep.equal([]);
  });

  it('PORT the same as CHAIN_PORT: CONFIG_INVALID naming PORT before anything is made (the chain would take it first)', async () => {
    const port = await freePort();
    const r = await start({ PORT: String(port), CHAIN_PORT: String(port) });
    expect(r.err).to.have.nested.property('details.variable', 'PORT');
    expect(r.made, 'nothing made in DATA_DIR').to.deep.equal([]);
  });

  it('a process that does not listen (listen: false) does not check PORT', async () => {
    // The chain's port taken too: the start fails there, not on PORT, and quickly.
    const r = await start({ PORT: String(await takenPort()), CHAIN_PORT: String(await takenPort()) }, { listen: false });
    expect(r.err).to.have.nested.property('details.variable', 'CHAIN_PORT');
  });
});
