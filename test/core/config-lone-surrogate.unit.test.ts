import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors';
import { loadPolicyFile } from '../../src/agent/policy';
import { readServersFile } from '../../src/mcp/servers-file';
import { loadChainsFile } from '../../src/web3/chains-file';

/**
 * A configuration file whose JSON or YAML escapes a lone UTF-16 surrogate (`"\ud800"`): its text
 * reaches events (a server's name and args, a rule's reason), whose hash then only JavaScript
 * reproduced. Start-up stops naming the file's field; the operator fixes the file.
 */
describe('configuration files with a lone UTF-16 surrogate are refused at start, naming the field', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-config-lone-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = (read: () => unknown) => {
    try {
      read();
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      return (e as Error).message;
    }
    return 'not refused';
  };

  it('MCP_SERVERS_FILE (JSON and YAML)', () => {
    const json = file('servers.json', '{"mcpServers":{"files":{"command":"npx","args":["-y","x\\ud800"]}}}');
    expect(refusal(() => readServersFile(json, { kind: 'system', id: 'openmcp' }))).to.equal(
      'MCP_SERVERS_FILE: mcpServers.files.args.1: a lone UTF-16 surrogate (\\ud800) is not Unicode text, which event hashes need (RFC 8785)',
    );
    const yaml = file('servers.yaml', 'servers:\n  - name: files\n    command: "npx\\udc00"\n');
    expect(refusal(() => readServersFile(yaml, { kind: 'system', id: 'openmcp' }))).to.match(/^MCP_SERVERS_FILE: servers\.0\.command: a lone UTF-16 surrogate \(\\udc00\)/);
    // A pair is text: read as before.
    const pair = file('pair.json', '{"mcpServers":{"files":{"command":"npx","args":["\\ud83d\\ude00"]}}}');
    expect(readServersFile(pair, { kind: 'system', id: 'openmcp' })[0].args).to.deep.equal(['\ud83d\ude00']);
  });

  it('POLICY_FILE', () => {
    const path = file('policy.json', '{"policies":[{"tenant":"acme","tools":{"allow":["kv__\\ud800*"]}}]}');
    expect(refusal(() => loadPolicyFile(path))).to.equal(
      `POLICY_FILE ${path}: policies.0.tools.allow.0: a lone UTF-16 surrogate (\\ud800) is not Unicode text, which event hashes need (RFC 8785)`,
    );
  });

  it('CHAINS_FILE', () => {
    const path = file('chains.json', '{"chains":[{"chainId":31337,"rpcUrl":"http://127.0.0.1:8545","contracts":[{"name":"Token\\udbff","address":"0x0000000000000000000000000000000000000001","abi":[]}]}]}');
    expect(refusal(() => loadChainsFile(path))).to.equal(
      `CHAINS_FILE ${path}: chains.0.contracts.0.name: a lone UTF-16 surrogate (\\udbff) is not Unicode text, which event hashes need (RFC 8785)`,
    );
  });
});
