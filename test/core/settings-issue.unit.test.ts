import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/agent/policy/load-policy';
import { ConfigError } from '../../src/core/errors';
import { readServersFile } from '../../src/mcp/servers-file';
import { loadChainsFile } from '../../src/web3/chains-file';

/**
 * YAML reads an unquoted `tenant: 007` as the number 7 (and `1e3` as 1000, `true` as a boolean): the
 * settings files refused it with zod's bare "expected string, received number", naming nothing the
 * operator wrote. The refusal now says the file gives a number or boolean and to quote it.
 */
describe('settings files: a YAML number or boolean where text goes says to quote it', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-settings-issue-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const quoteIt = (at: string, kind: string, value: string, key: string) =>
    `${at}: expected text, but the file gives the ${kind} ${value} (YAML reads an unquoted 007 or 1e3 as a number and true/false as a boolean): quote it as written (${key}: "…": "007" for 007, not 7)`;

  it('POLICY_FILE: tenant: 007 and agent: true', () => {
    const path = file('p.yaml', 'policies:\n  - tenant: 007\n    allow: ["*"]\n');
    expect(() => loadPolicyFile(path)).to.throw(ConfigError, `POLICY_FILE ${path}: ${quoteIt('policies.0.tenant', 'number', '7', 'tenant')}`);
    const agent = file('a.yaml', 'policies:\n  - tenant: acme\n    agent: true\n    allow: ["*"]\n');
    expect(() => loadPolicyFile(agent)).to.throw(ConfigError, quoteIt('policies.0.agent', 'boolean', 'true', 'agent'));
  });

  it('MCP_SERVERS_FILE: either form names the field (not "file: Invalid input")', () => {
    const path = file('s.yaml', 'servers:\n  - name: 1e3\n    command: npx\n');
    expect(() => readServersFile(path, { kind: 'system', id: 'openmcp' })).to.throw(ConfigError, `MCP_SERVERS_FILE: ${quoteIt('servers.0.name', 'number', '1000', 'name')}`);
    const env = file('m.yaml', 'mcpServers:\n  files:\n    command: npx\n    env:\n      PORT: 8080\n');
    // A value under env or headers is not shown, whatever its key: a secret may be written there as such.
    expect(() => readServersFile(env, { kind: 'system', id: 'openmcp' })).to.throw(ConfigError, quoteIt('mcpServers.files.env.PORT', 'number', '8080', 'PORT').replace(' 8080', ''));
  });

  it('CHAINS_FILE: a chain name read as a number', () => {
    const path = file('c.yaml', 'chains:\n  - chainId: 31337\n    name: 1e3\n    rpcUrl: http://127.0.0.1:8545\n');
    expect(() => loadChainsFile(path)).to.throw(ConfigError, quoteIt('chains.0.name', 'number', '1000', 'name'));
  });

  it('other issues keep their message', () => {
    const path = file('c2.yaml', 'chains:\n  - chainId: 0\n    rpcUrl: http://127.0.0.1:8545\n');
    expect(() => loadChainsFile(path)).to.throw(ConfigError, /chains\.0\.chainId: Too small/);
  });
});
