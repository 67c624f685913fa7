import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalChain } from '../../src/web3/local-chain';
import { freePort } from '../support/free-port';

/** The embedded chain's port taken (another node on 8545 is the usual first-run clash). */
describe('embedded chain: CHAIN_PORT already in use', function () {
  this.timeout(60_000);
  let dir: string;
  let server: Server;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-chain-port-'));
    port = await freePort();
    server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with CONFIG_INVALID naming CHAIN_PORT and what to do, not the node\'s stack trace', async () => {
    // Its log (info in `openmcp start`) holds no stack trace either: the node's output goes to debug.
    const log: string[] = [];
    const debug: string[] = [];
    const err = (await startLocalChain({ port, dataDir: dir, log: (l) => log.push(l), debug: (l) => debug.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string; details?: { variable?: string } };
    expect(err?.code).to.equal('CONFIG_INVALID');
    expect(err?.details?.variable).to.equal('CHAIN_PORT');
    expect(err?.message).to.equal(`CHAIN_PORT: 127.0.0.1:${port} is already in use: set CHAIN_PORT to a free port for the embedded chain, or CHAIN_RPC_URL (with ANCHOR_CONTRACT) to anchor on a chain of your own`);
    expect(log.join('\n')).to.not.match(/EADDRINUSE|\n\s+at /);
    expect(debug.join('\n'), 'the cause, at debug').to.match(/EADDRINUSE/);
  });
});
