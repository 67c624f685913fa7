import { expect } from 'chai';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateRuntimeKey } from '../../src/agent/runtime/runtime-key';
import { ConfigError } from '../../src/core/errors';
import { loadOrCreateKeyFile } from '../../src/core/key-file';
import { loadOrCreateSealerKey } from '../../src/proofs/sealer-key';

describe('key files (admin.key, sealer.key, agent.key)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-keyfile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the file once (0600, in a directory it makes), then reads it; no temporary file is left', () => {
    const file = join(dir, 'nested', 'k.key');
    let made = 0;
    const create = () => `secret-${++made}-0123456789`;
    const first = loadOrCreateKeyFile(file, create, () => {});
    expect(first).to.deep.equal({ key: 'secret-1-0123456789', created: true });
    expect(readFileSync(file, 'utf8')).to.equal('secret-1-0123456789\n');
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(loadOrCreateKeyFile(file, create, () => {})).to.deep.equal({ key: 'secret-1-0123456789', created: false });
    expect(made).to.equal(1);
    expect(readdirSync(join(dir, 'nested'))).to.deep.equal(['k.key']);
  });

  it('when another process created the file in between, uses its key and keeps its file', () => {
    const file = join(dir, 'k.key');
    // `create` runs after the existence check: the rival's file appears exactly in that window.
    const r = loadOrCreateKeyFile(file, () => (writeFileSync(file, 'rival-key-0123456789\n', { mode: 0o600 }), 'mine-0123456789'), () => {});
    expect(r).to.deep.equal({ key: 'rival-key-0123456789', created: false });
    expect(readFileSync(file, 'utf8')).to.equal('rival-key-0123456789\n');
    expect(readdirSync(dir)).to.deep.equal(['k.key']);
  });

  it('passes what it reads to the check, which refuses a bad file naming the variable', () => {
    writeFileSync(join(dir, 'sealer.key'), 'not hex\n');
    expect(() => loadOrCreateSealerKey(dir)).to.throw(/sealer\.key does not hold a 0x-prefixed 32-byte hex key \(set SEALER_PRIVATE_KEY/);
    writeFileSync(join(dir, 'agent.key'), '0x1234\n');
    expect(() => loadOrCreateRuntimeKey(dir)).to.throw(/agent\.key does not hold .*AGENT_PRIVATE_KEY/);
  });

  it('refuses a key file other users can read or write (restored from a backup, copied), saying how to fix it; 0400 is fine', function () {
    if (process.platform === 'win32') this.skip();
    const file = join(dir, 'admin.key');
    writeFileSync(file, 'secret-0123456789\n');
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
      chmodSync(file, mode);
      expect(() => loadOrCreateKeyFile(file, () => 'new-0123456789', () => {}), mode.toString(8)).to.throw(ConfigError, `admin.key is open to other users (mode 0${mode.toString(8)}): chmod 600`);
      expect(readFileSync(file, 'utf8'), 'the file is left as it was').to.equal('secret-0123456789\n');
    }
    chmodSync(file, 0o400);
    expect(loadOrCreateKeyFile(file, () => 'new-0123456789', () => {}).key).to.equal('secret-0123456789');
    writeFileSync(join(dir, 'sealer.key'), `0x${'ab'.repeat(32)}\n`, { mode: 0o644 });
    expect(() => loadOrCreateSealerKey(dir)).to.throw(/sealer\.key is open to other users .*or set SEALER_PRIVATE_KEY/);
  });

  it('refuses a key file another user owns (whoever owns it chose the key)', function () {
    if (process.platform === 'win32' || process.getuid?.() !== 0) this.skip();
    const file = join(dir, 'admin.key');
    writeFileSync(file, 'planted-0123456789\n', { mode: 0o600 });
    chownSync(file, 4321, 4321);
    expect(() => loadOrCreateKeyFile(file, () => 'new-0123456789', () => {}, 'OPENMCP_ADMIN_KEY')).to.throw(ConfigError, /belongs to another user \(uid 4321.*or set OPENMCP_ADMIN_KEY instead/);
  });

  it('a directory it creates for the key is private (0700)', function () {
    if (process.platform === 'win32') this.skip();
    loadOrCreateKeyFile(join(dir, 'data', 'k.key'), () => 'new-0123456789', () => {});
    expect(statSync(join(dir, 'data')).mode & 0o777).to.equal(0o700);
  });

  it('sealer and agent keys: created as 0x + 64 hex, stable across calls, a configured key wins', () => {
    const sealer = loadOrCreateSealerKey(dir);
    expect(sealer).to.match(/^0x[0-9a-f]{64}$/);
    expect(loadOrCreateSealerKey(dir)).to.equal(sealer);
    const agent = loadOrCreateRuntimeKey(dir);
    expect(agent).to.match(/^0x[0-9a-f]{64}$/).and.not.equal(sealer);
    expect(loadOrCreateRuntimeKey(dir)).to.equal(agent);
    expect(loadOrCreateSealerKey(dir, '0xAB' + 'cd'.repeat(31))).to.equal('0xab' + 'cd'.repeat(31));
  });
});
