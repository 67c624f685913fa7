import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyDefaults } from '../../src/cli/verify-defaults';

// docs/configuration.md: the settings come from the environment "and, optionally, a JSON or YAML file named by
// OPENMCP_CONFIG with the same keys (the environment wins)". `verify` read the environment only, so
// an operator who started with `OPENMCP_CONFIG=cfg.yaml npm start` (CHAIN_PORT in the file) and
// ran `OPENMCP_CONFIG=cfg.yaml npx openmcp verify proof.json` was sent to 127.0.0.1:8545.
describe('openmcp verify / verify-batch: the chain they default to', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-verify-defaults-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };

  it('the local chain on 8545 with nothing set', () => {
    expect(verifyDefaults({}, dir)).to.deep.equal({ rpc: 'http://127.0.0.1:8545' });
  });

  it('CHAIN_PORT and ANCHOR_CONTRACT of the OPENMCP_CONFIG file, as start reads them', () => {
    const cfg = file('cfg.yaml', 'CHAIN_PORT: 33512\nANCHOR_CONTRACT: "0x5fbdb2315678afecb367f032d93f642f64180aa3"\nPORT: 33511\n');
    expect(verifyDefaults({ OPENMCP_CONFIG: cfg }, dir)).to.deep.equal({ rpc: 'http://127.0.0.1:33512', contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' });
  });

  it("the file's CHAIN_RPC_URL before any CHAIN_PORT", () => {
    const cfg = file('rpc.json', '{"CHAIN_RPC_URL": "https://rpc.example.org", "CHAIN_PORT": 9999}');
    expect(verifyDefaults({ OPENMCP_CONFIG: cfg }, dir).rpc).to.equal('https://rpc.example.org');
  });

  it('the environment before the file, and an empty variable counts as unset', () => {
    const cfg = file('env.yaml', 'CHAIN_PORT: 33512\n');
    expect(verifyDefaults({ OPENMCP_CONFIG: cfg, CHAIN_PORT: '40000' }, dir).rpc).to.equal('http://127.0.0.1:40000');
    expect(verifyDefaults({ OPENMCP_CONFIG: cfg, CHAIN_PORT: '' }, dir).rpc).to.equal('http://127.0.0.1:33512');
    expect(verifyDefaults({ OPENMCP_CONFIG: cfg, CHAIN_RPC_URL: 'http://10.0.0.5:8545' }, dir).rpc).to.equal('http://10.0.0.5:8545');
  });

  it('a config file that cannot be read is named, not skipped', () => {
    expect(() => verifyDefaults({ OPENMCP_CONFIG: 'missing.yaml' }, dir)).to.throw(/OPENMCP_CONFIG/);
  });

  // Unchecked, `http://127.0.0.1:abc` was refused as "--rpc (or CHAIN_RPC_URL) … is not an http:// or
  // https:// URL": neither was set, and it is one; the setting to fix is CHAIN_PORT.
  it('a CHAIN_PORT that is no port is refused naming CHAIN_PORT, from the environment or the file', () => {
    expect(() => verifyDefaults({ CHAIN_PORT: 'abc' }, dir)).to.throw(/CHAIN_PORT="abc": expected a port/);
    const cfg = file('badport.yaml', 'CHAIN_PORT: 70000\n');
    expect(() => verifyDefaults({ OPENMCP_CONFIG: cfg }, dir)).to.throw(/CHAIN_PORT="70000": expected a port/);
    expect(verifyDefaults({ CHAIN_PORT: 'abc', CHAIN_RPC_URL: 'http://10.0.0.5:8545' }, dir).rpc).to.equal('http://10.0.0.5:8545');
  });
});
