import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/agent/policy/load-policy';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/core/errors';
import { parseSettingsText } from '../../src/core/settings-text';
import { readServersFile } from '../../src/mcp/servers-file';
import { loadChainsFile } from '../../src/web3/chains-file';

/**
 * A Windows editor or PowerShell (`Set-Content -Encoding utf8`, `Out-File`) starts a UTF-8 file
 * with a byte order mark. YAML's parser skipped it, but JSON.parse refused every JSON settings
 * file saved so: "not valid JSON/YAML: Unexpected token ''", the mark itself unseen. The mark is
 * no part of the text (RFC 8259 section 8.1), and proof files were read past it already.
 */
describe('settings files that start with a UTF-8 byte order mark are read as the text after it', () => {
  const BOM = '\uFEFF';
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, BOM + text, 'utf8');
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-settings-bom-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('OPENMCP_CONFIG (JSON)', () => {
    file('c.json', '{"PORT": 9001}');
    expect(loadConfig({ OPENMCP_CONFIG: 'c.json' }, dir).PORT).to.equal(9001);
  });

  it('POLICY_FILE (JSON and YAML)', () => {
    const policy = { policies: [{ tenant: 't1', tools: { deny: ['files__write'] } }] };
    const json = loadPolicyFile(file('policy.json', JSON.stringify(policy)));
    expect(json.policies[0].tools.deny).to.deep.equal(['files__write']);
    expect(loadPolicyFile(file('policy.yaml', 'policies:\n  - tenant: t1\n    tools: {deny: [files__write]}\n'))).to.deep.equal(json);
  });

  it('MCP_SERVERS_FILE (JSON)', () => {
    const path = file('servers.json', '{"mcpServers":{"files":{"command":"npx","args":["-y","server-files"]}}}');
    const [entry] = readServersFile(path, { kind: 'system', id: 'openmcp' });
    expect(entry.name).to.equal('files');
  });

  it('CHAINS_FILE (JSON)', () => {
    const path = file('chains.json', '{"chains":[{"chainId":31337,"rpcUrl":"http://127.0.0.1:8545","contracts":[]}]}');
    expect(loadChainsFile(path).map((c) => c.chainId)).to.deep.equal([31337]);
  });

  it('only a leading mark is dropped: the lines and columns named for a key written twice are the file\'s own', () => {
    expect(() => parseSettingsText('a.json', `${BOM}{"a": 1,\n "a": 2}`)).to.throw(/names "a" twice in one object \(the second at line 2, column 2\)/);
    expect(() => parseSettingsText('a.json', `{"a": ${BOM}1}`)).to.throw(SyntaxError);
  });

  it('a file holding only the mark says nothing: it is refused as an empty file is', () => {
    expect(() => loadPolicyFile(file('empty.yaml', ''))).to.throw(ConfigError, /has no `policies` list \(an empty file\?\)/);
    expect(() => loadChainsFile(file('empty.json', ''))).to.throw(ConfigError, /CHAINS_FILE .*not valid JSON\/YAML/);
  });
});
