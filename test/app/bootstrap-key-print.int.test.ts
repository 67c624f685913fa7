/**
 * The bootstrap admin key is printed by the start that creates it, even when that start then
 * fails (PORT taken by another process after the start's first check of it, a chain that does not
 * answer): the next start finds the key file and prints nothing, so a key not printed then was
 * never shown to the person who started it. (Settings files and ports taken already are refused
 * before the key is made: policy-file-start.int.test.ts, taken-port-start.int.test.ts.)
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
    // PORT is free when the start checks it, and taken once the key is printed: the start fails
    // at listen (as it does in that race), once the database, the key and the chain exist.
    const port = await freePort();
    const taken = createServer();
    let takenListening: Promise<void> | undefined;
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', HOST: '127.0.0.1', PORT: String(port), CHAIN_PORT: String(await freePort()) });
    const lines: string[] = [];
    const print = (l: string) => {
      lines.push(l);
      // Bound long before the start listens: the embedded chain starts in between (seconds).
      takenListening ??= new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    };
    const err = await startOpenMcp(config, { print })
      .then(
        async (app) => void (await app.close()),
        (e: unknown) => e,
      )
      .finally(async () => {
        if (!takenListening) return;
        await takenListening;
        await new Promise((r) => taken.close(r));
      });
    expect(err, 'the start fails on the port').to.have.property('code', 'CONFIG_INVALID');
    expect(err).to.have.nested.property('details.variable', 'PORT');
    const key = readFileSync(join(dir, 'data', 'admin.key'), 'utf8').trim();
    expect(lines.join('\n')).to.include(key);
  });
});
