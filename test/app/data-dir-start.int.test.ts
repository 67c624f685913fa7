/**
 * A DATA_DIR the start cannot use (a file, a path through a file) stops `openmcp start` with
 * CONFIG_INVALID naming DATA_DIR and what to do, as any other setting it cannot use (was: the raw
 * `EEXIST: EEXIST: file already exists, mkdir '…'`, naming no setting). Nothing is made.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';

describe('openmcp start: a DATA_DIR it cannot use', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-data-dir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function start(dataDir: string) {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', HOST: '127.0.0.1', PORT: String(await freePort()), CHAIN_PORT: String(await freePort()) });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { print: (l) => lines.push(l), logStream: { write: () => undefined } }).then(
      async (app) => void (await app.close()),
      (e: unknown) => e,
    );
    return { err, lines };
  }

  it('a file: CONFIG_INVALID naming DATA_DIR, the file left as it was, no key printed', async () => {
    const file = join(dir, 'proof.json');
    writeFileSync(file, '{}');
    const r = await start(file);
    expect(r.err).to.have.property('code', 'CONFIG_INVALID');
    expect(r.err).to.have.nested.property('details.variable', 'DATA_DIR');
    expect((r.err as Error).message).to.equal(`DATA_DIR: ${file} is a file, not a directory: set DATA_DIR to a directory (it is made if missing)`);
    expect(readFileSync(file, 'utf8')).to.equal('{}');
    expect(r.lines, 'no bootstrap key printed').to.deep.equal([]);
  });

  it('a path through a file: CONFIG_INVALID naming DATA_DIR and that a part of it is a file', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'x');
    const r = await start(join(file, 'data'));
    expect(r.err).to.have.nested.property('details.variable', 'DATA_DIR');
    expect((r.err as Error).message).to.equal(`DATA_DIR: ${join(file, 'data')} cannot be made: a part of its path is a file, not a directory: set DATA_DIR to a directory (it is made if missing)`);
  });
  it('a symbolic link to a directory that is missing (a volume not mounted): CONFIG_INVALID naming DATA_DIR and the link, nothing made at its target', async () => {
    const link = join(dir, 'data');
    const target = join(dir, 'volume', 'openmcp');
    symlinkSync(target, link);
    for (const dataDir of [link, join(link, 'sub')]) {
      const r = await start(dataDir);
      expect(r.err, dataDir).to.have.property('code', 'CONFIG_INVALID');
      expect(r.err).to.have.nested.property('details.variable', 'DATA_DIR');
      expect((r.err as Error).message).to.equal(`DATA_DIR: ${dataDir} cannot be made: it, or a part of its path, is a symbolic link to a path that does not exist: set DATA_DIR to a directory (it is made if missing)`);
    }
    expect(() => readFileSync(target), 'nothing made at the link\'s target').to.throw(/ENOENT/);
  });

  it('a valid DATA_DIR is taken: a symbolic link to a directory, a relative path, a directory not yet made under parents not yet made', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const dataDir of [join(dir, 'link'), 'relative/data', join(dir, 'a', 'b', 'c')]) {
        const r = await start(dataDir);
        expect(r.err, dataDir).to.equal(undefined);
      }
    } finally {
      process.chdir(cwd);
    }
  });
});
