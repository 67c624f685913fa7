import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const ROOT = join(__dirname, '..', '..');
const WITHOUT_HARDHAT = join(__dirname, 'fixtures', 'without-hardhat.cjs');

/** A production install (npm ci --omit=dev) has no Hardhat: docs/operations.md, "Roles". */
describe('openmcp start without Hardhat (a production install) and without CHAIN_RPC_URL', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'openmcp-no-hardhat-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses CONFIG_INVALID naming CHAIN_RPC_URL before it makes anything (no database, no admin key, no chain files)', () => {
    const dataDir = join(dir, 'data');
    const port = () => String(20_000 + Math.floor(Math.random() * 40_000));
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', DATA_DIR: dataDir, PORT: port(), CHAIN_PORT: port() };
    for (const name of ['CHAIN_RPC_URL', 'ANCHOR_CONTRACT', 'OPENMCP_ROLES', 'OPENMCP_CONFIG', 'OPENMCP_ADMIN_KEY', 'DATABASE_URL', 'KURRENTDB_URL']) delete env[name];
    const res = spawnSync(process.execPath, ['--require', WITHOUT_HARDHAT, join(ROOT, 'bin', 'openmcp'), 'start'], { cwd: dir, env, encoding: 'utf8', timeout: 50_000 });
    expect(res.status, res.stderr + res.stdout).to.equal(1);
    expect(res.stderr).to.match(/CONFIG_INVALID.*CHAIN_RPC_URL is not set, and the embedded chain cannot start: it runs Hardhat/);
    expect(existsSync(dataDir), 'DATA_DIR made').to.equal(false);
  });
});
