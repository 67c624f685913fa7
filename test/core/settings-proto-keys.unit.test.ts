import { expect } from 'chai';
import fc from 'fast-check';
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
 * JSON.parse and YAML both make a key named `__proto__` an own key, but zod's `z.record` builds
 * its output by assignment, which sets the copy's prototype instead: a stdio server's env variable,
 * a header, an `mcpServers` entry or a policy's budget named `__proto__` was silently dropped,
 * and the start went on without it. Every settings file now refuses such a key, naming where it is.
 */
describe('settings files with a key named __proto__ are refused at start, never silently dropped', () => {
  let dir: string;
  const system = { kind: 'system' as const, id: 'openmcp' };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const refusal = (variable: string, path: string, at: string) =>
    `${variable} ${path}: names the key "__proto__" (at ${at}): JavaScript would take it for the object's prototype and drop it; rename it`;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-settings-proto-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MCP_SERVERS_FILE: a stdio server\'s env variable named __proto__ (JSON)', () => {
    const path = file('servers.json', '{"mcpServers":{"files":{"command":"npx","env":{"__proto__":"x","A":"1"}}}}');
    expect(() => readServersFile(path, system)).to.throw(ConfigError, refusal('MCP_SERVERS_FILE', path, 'mcpServers.files.env'));
  });

  it('MCP_SERVERS_FILE: a header named __proto__ (YAML)', () => {
    const path = file('servers.yaml', 'servers:\n  - name: notion\n    url: https://example.com/mcp\n    headers:\n      __proto__: "Bearer ${env:HOME}"\n');
    expect(() => readServersFile(path, system)).to.throw(ConfigError, refusal('MCP_SERVERS_FILE', path, 'servers.0.headers'));
  });

  it('MCP_SERVERS_FILE: an mcpServers entry named __proto__ (it vanished, with nothing said)', () => {
    const path = file('entry.json', '{"mcpServers":{"__proto__":{"command":"npx"},"files":{"command":"npx"}}}');
    expect(() => readServersFile(path, system)).to.throw(ConfigError, refusal('MCP_SERVERS_FILE', path, 'mcpServers'));
  });

  it('POLICY_FILE: a tool budget and a contract method named __proto__', () => {
    const budget = file('budget.json', '{"policies":[{"tenant":"acme","tools":{"budgets":{"__proto__":1}}}]}');
    expect(() => loadPolicyFile(budget)).to.throw(ConfigError, refusal('POLICY_FILE', budget, 'policies.0.tools.budgets'));
    const method = file(
      'method.yaml',
      'policies:\n  - tenant: acme\n    contracts:\n      - chainId: 1\n        address: "0x1111111111111111111111111111111111111111"\n        methods:\n          __proto__: {}\n',
    );
    expect(() => loadPolicyFile(method)).to.throw(ConfigError, refusal('POLICY_FILE', method, 'policies.0.contracts.0.methods'));
  });

  it('CHAINS_FILE and OPENMCP_CONFIG: the same words (they refused the key already, as unknown)', () => {
    const chains = file('chains.json', '{"chains":[],"__proto__":{}}');
    expect(() => loadChainsFile(chains)).to.throw(ConfigError, refusal('CHAINS_FILE', chains, 'the top level'));
    const config = file('c.json', '{"__proto__": "9000"}');
    expect(() => loadConfig({ OPENMCP_CONFIG: 'c.json' }, dir)).to.throw(ConfigError, refusal('OPENMCP_CONFIG', config, 'the top level'));
  });

  it('property: a JSON settings text parses to every key it names, or is refused naming __proto__', () => {
    const key = fc.oneof(fc.constant('__proto__'), fc.string({ maxLength: 6 }));
    const doc = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.array(tie('value'), { maxLength: 3 }), tie('object')),
      object: fc.dictionary(key, tie('value'), { maxKeys: 4 }).map((o) => JSON.stringify(o)).map((t) => JSON.parse(t) as unknown),
    })).object;
    const keysOf = (v: unknown): string[] =>
      v === null || typeof v !== 'object' ? [] : Object.entries(v).flatMap(([k, x]) => [...(Array.isArray(v) ? [] : [k]), ...keysOf(x)]);
    fc.assert(
      fc.property(doc, (d) => {
        const text = JSON.stringify(d);
        let parsed: unknown;
        try {
          parsed = parseSettingsText('s.json', text);
        } catch (err) {
          expect((err as Error).message).to.contain('names the key "__proto__"');
          expect(keysOf(JSON.parse(text))).to.include('__proto__');
          return;
        }
        expect(keysOf(parsed)).to.not.include('__proto__');
        expect(parsed).to.deep.equal(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });
});
