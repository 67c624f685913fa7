import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/agent/policy/load-policy';
import { ConfigError } from '../../src/core/errors';
import { loadChainsFile } from '../../src/web3/chains-file';

// A CHAINS_FILE or POLICY_FILE that is set but empty (a file not written yet, a heredoc that went
// wrong, only comments) was read as "no chains" / "no policies": the start went on, and the first
// transfer failed CHAIN_NOT_CONFIGURED "no chains are configured (CHAINS_FILE)" — or every tool ran
// under the default policy — with CHAINS_FILE / POLICY_FILE set all along.
describe('CHAINS_FILE and POLICY_FILE: a file that says nothing stops the start', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-empty-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  for (const [name, text] of [['empty.yaml', ''], ['comments.yaml', '# chains to come\n'], ['empty.json', '{}'], ['other.yaml', 'policies: []\n']] as const) {
    it(`CHAINS_FILE ${name}: CONFIG_INVALID naming CHAINS_FILE and the missing chains list`, () => {
      const p = file(`c-${name}`, text);
      expect(() => loadChainsFile(p)).to.throw(ConfigError, new RegExp(`^CHAINS_FILE ${p.replace(/[.]/g, '\\.')}: has no \`chains\` list`));
    });
  }

  for (const [name, text] of [['empty.yaml', ''], ['comments.yaml', '# policies to come\n'], ['empty.json', '{}']] as const) {
    it(`POLICY_FILE ${name}: CONFIG_INVALID naming POLICY_FILE and the missing policies list`, () => {
      const p = file(`p-${name}`, text);
      expect(() => loadPolicyFile(p)).to.throw(ConfigError, new RegExp(`^POLICY_FILE ${p.replace(/[.]/g, '\\.')}: has no \`policies\` list`));
    });
  }

  it('an explicit empty list is a choice, and is kept', () => {
    expect(loadChainsFile(file('none.yaml', 'chains: []\n'))).to.deep.equal([]);
    expect(loadPolicyFile(file('none-p.yaml', 'policies: []\n'))).to.deep.equal({ policies: [] });
  });

  it('a CHAINS_FILE refused for its content names every problem with its line and column, as POLICY_FILE does', () => {
    const p = file('typo.yaml', 'chains:\n  - chainId: 31337\n    rpcURL: http://127.0.0.1:8545\n    wallet: { type: key, privateKeyEnv: K }\n');
    expect(() => loadChainsFile(p)).to.throw(ConfigError, /chains\.0: Unrecognized key: "rpcURL" \(line 3, column 5\)/);
  });

  it('a refused CHAINS_FILE echoes no part of an inline private key: neither an unquoted one YAML read as a number, nor JSON.parse\'s excerpt of the text', () => {
    const key = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
    const yaml = file('key.yaml', `chains:\n  - chainId: 31337\n    rpcUrl: http://127.0.0.1:8545\n    confirmations: 100\n    wallet: { type: key, privateKey: 0x${key} }\n`);
    const json = file('key.json', `{"chains": [{"chainId": 31337, "rpcUrl": "http://127.0.0.1:8545", "wallet": {"type": "key", "privateKey": x${key}}}]}`);
    const refusal = (p: string) => {
      try {
        loadChainsFile(p);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    const y = refusal(yaml);
    expect(y).to.match(/chains\.0\.wallet\.privateKey: expected text, .* \(line 5, column 38\)/);
    expect(y).to.not.match(/\d\.\d+e\+\d+/);
    const j = refusal(json);
    expect(j).to.match(/not valid JSON\/YAML: Unexpected token 'x'/);
    expect(j).to.not.include(key.slice(0, 6));
  });

  it('a CHAINS_FILE that is not valid YAML echoes no part of the line in error (YAML\'s excerpt of it may hold an inline private key)', () => {
    const key = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
    const p = file('unclosed.yaml', `chains:\n  - chainId: 31337\n    rpcUrl: http://127.0.0.1:8545\n    wallet: { type: key, privateKey: "0x${key} }\n`);
    let message = '';
    try {
      loadChainsFile(p);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/not valid JSON\/YAML: .* at line \d+, column \d+/);
    expect(message).to.not.include(key.slice(0, 6));
  });
});
