/**
 * The bootstrap admin key is printed by the start that creates it, even when that start then
 * fails (the embedded chain's port taken, a chain that does not answer): the next start finds the
 * key file and prints nothing, so a key not printed then was never shown to the person who started
 * it. (Settings files are refused before the key is made: policy-file-start.int.test.ts.)
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';

describe('openmcp start: the bootstrap admin key', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-bootstrap-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is printed by the start that generates it, even when that start fails afterwards', async () => {
    // The embedded chain's port taken: the start fails once the database and the key exist.
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', CHAIN_PORT: String(port) });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { listen: false, print: (l) => lines.push(l) })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
      .finally(() => new Promise((r) => taken.close(r)));
    expect(err, 'the start fails on the chain port').to.have.property('code', 'CONFIG_INVALID');
    expect(err).to.have.nested.property('details.variable', 'CHAIN_PORT');
    const key = readFileSync(join(dir, 'data', 'admin.key'), 'utf8').trim();
    expect(lines.join('\n')).to.include(key);
  });
});
