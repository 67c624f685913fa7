import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/core/errors';
import { parseSettingsText } from '../../src/core/settings-text';
import { readServersFile } from '../../src/mcp/servers-file';
import { loadChainsFile } from '../../src/web3/chains-file';

/**
 * JSON.parse keeps the last of two equal keys: a server's `env` or a chain's `rpcUrl` written twice
 * in one object silently lost the first. Every settings file refuses such JSON at start, naming the
 * key and where the second one is; YAML refused them already.
 */
describe('settings files naming a key twice in one object are refused at start', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-settings-twice-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MCP_SERVERS_FILE: a server whose env is written twice', () => {
    const path = file('servers.json', '{"mcpServers":{"files":{"command":"npx",\n "env":{"A":"1"},\n "env":{"B":"2"}}}}');
    expect(() => readServersFile(path, { kind: 'system', id: 'openmcp' })).to.throw(
      ConfigError,
      `MCP_SERVERS_FILE ${path}: names "env" twice in one object (the second at line 3, column 2): JSON keeps only the last, so the first would be silently dropped; write it once`,
    );
  });

  it('MCP_SERVERS_FILE in YAML: the YAML parser refuses it', () => {
    const path = file('servers.yaml', 'servers:\n  - name: files\n    command: npx\n    command: sh\n');
    expect(() => readServersFile(path, { kind: 'system', id: 'openmcp' })).to.throw(ConfigError, /MCP_SERVERS_FILE .*Map keys must be unique/);
  });

  it('CHAINS_FILE: a chain whose rpcUrl is written twice', () => {
    const path = file('chains.json', '{"chains":[{"chainId":31337,"rpcUrl":"http://127.0.0.1:8545","rpcUrl":"http://127.0.0.1:9545","contracts":[]}]}');
    expect(() => loadChainsFile(path)).to.throw(ConfigError, /names "rpcUrl" twice in one object \(the second at line 1, column 62\)/);
    const broken = file('broken.json', '{"chains":');
    expect(() => loadChainsFile(broken)).to.throw(ConfigError, /not valid JSON\/YAML/);
  });

  it('OPENMCP_CONFIG: a setting written twice', () => {
    file('c.json', '{"PORT": 9001, "PORT": 9002}');
    expect(() => loadConfig({ OPENMCP_CONFIG: 'c.json' }, dir)).to.throw(ConfigError, /names "PORT" twice in one object/);
  });

  it('property: JSON text with distinct keys parses as JSON.parse does; a key repeated in one object is refused naming it', () => {
    const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__');
    // A key named __proto__ at any depth is refused for its own reason (settings-proto-keys.unit.test.ts).
    const noProtoKey = fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes('"__proto__"'));
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 6 }), fc.array(noProtoKey, { minLength: 6, maxLength: 6 }), fc.nat(), (keys, values, pick) => {
        const entries = keys.map((k, i) => `${JSON.stringify(k)}:${JSON.stringify(values[i])}`);
        const text = `{${entries.join(',')}}`;
        expect(parseSettingsText('s.json', text)).to.deep.equal(JSON.parse(text));
        const repeated = keys[pick % keys.length];
        const twice = `{${[...entries, `${JSON.stringify(repeated)}:0`].join(',')}}`;
        expect(() => parseSettingsText('s.json', twice)).to.throw(`names ${JSON.stringify(repeated)} twice in one object`);
      }),
      { numRuns: 200 },
    );
  });
});
