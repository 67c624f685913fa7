import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/agent/policy/load-policy';
import { ConfigError } from '../../src/core/errors';
import { parseSettingsText } from '../../src/core/settings-text';
import { readServersFile } from '../../src/mcp/servers-file';
import { loadChainsFile } from '../../src/web3/chains-file';

/**
 * A YAML alias inside the node its anchor names (`a: &x {b: *x}`) makes an object that holds
 * itself: no setting can be such a value, and the checks that walk a settings file (lone
 * surrogates) overflowed the stack on it, so the start failed with "Maximum call stack size
 * exceeded", naming neither the variable nor the file. Now refused as invalid YAML, named.
 */
describe('YAML settings files whose alias refers to a node holding it are refused at start, named', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-settings-cycle-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MCP_SERVERS_FILE, POLICY_FILE and CHAINS_FILE', () => {
    const servers = file('servers.yaml', 'servers:\n  - &s\n    name: files\n    command: npx\n    args: *s\n');
    expect(() => readServersFile(servers, { kind: 'system', id: 'openmcp' })).to.throw(ConfigError, `MCP_SERVERS_FILE ${servers}: not valid JSON/YAML: the alias *s is inside the node its anchor &s names`);
    const policy = file('policy.yaml', 'policies:\n  - &p\n    tenant: acme\n    x: [*p]\n');
    expect(() => loadPolicyFile(policy)).to.throw(ConfigError, `POLICY_FILE ${policy}: not valid JSON/YAML: the alias *p is inside`);
    const chains = file('chains.yaml', 'chains: &c\n  - *c\n');
    expect(() => loadChainsFile(chains)).to.throw(ConfigError, `CHAINS_FILE ${chains}: not valid JSON/YAML: the alias *c is inside`);
  });

  it('aliases elsewhere (beside their anchor, even repeated) are read as before', () => {
    expect(parseSettingsText('s.yaml', 'a: &x {k: 1}\nb: *x\nc: [*x, *x]\n')).to.deep.equal({ a: { k: 1 }, b: { k: 1 }, c: [{ k: 1 }, { k: 1 }] });
    expect(parseSettingsText('s.yaml', 'a: &x [1, 2]\nb: {c: *x}\n')).to.deep.equal({ a: [1, 2], b: { c: [1, 2] } });
  });
});
