/**
 * A policy file that cannot say what its author meant is refused at load, naming the fault,
 * rather than applying something else: two entries for one tenant and agent, two rules for one
 * contract, an empty file. And tool patterns match every tool name they cover.
 */
import { expect } from 'chai';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors';
import { evaluateToolCall, globMatch, loadPolicyFile, parsePolicy, policyHashes, resolvePolicy, unregisteredServerPatterns, AgentPolicySchema } from '../../src/agent/policy';

const TOKEN = '0x1111111111111111111111111111111111111111';

describe('policy file: refused at load when it is ambiguous or empty', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'policy-file-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('two entries for one tenant and agent are refused, naming both (the second, stricter one was silently ignored)', () => {
    const doc = { policies: [{ tenant: 'acme', tools: { allow: ['*'] } }, { tenant: 'acme', agent: '*', tools: { deny: ['files__delete'] } }] };
    expect(() => parsePolicy(doc)).to.throw(ConfigError, /policies\.1: .*same tenant and agent as policies\.0 \(acme\/\*\)/);
    // Different agents of one tenant are distinct entries.
    expect(resolvePolicy(parsePolicy({ policies: [{ tenant: 'acme' }, { tenant: 'acme', agent: 'bot', approvalRequired: true }] }), 'acme', 'bot').approvalRequired).to.equal(true);
  });

  it('two rules for one contract of an entry are refused (the second was silently ignored), whatever the address case', () => {
    const doc = {
      policies: [
        {
          tenant: 'acme',
          contracts: [
            { chainId: 1, address: TOKEN, methods: { transfer: { amountArg: 1, maxAmount: '10' } } },
            { chainId: 1, address: TOKEN.toUpperCase().replace('0X', '0x'), methods: { transfer: { amountArg: 1, maxAmount: '1' } } },
          ],
        },
      ],
    };
    expect(() => parsePolicy(doc)).to.throw(ConfigError, /policies\.0\.contracts\.1: .*same contract as contracts\.0/);
    // The same address on another chain is another contract.
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', contracts: [{ chainId: 1, address: TOKEN }, { chainId: 2, address: TOKEN }] }] })).to.not.throw();
  });

  for (const [what, text, ext] of [
    ['an empty YAML file', '', 'yaml'],
    ['a YAML file of comments only', '# policies: to be written\n', 'yml'],
    ['a JSON null', 'null', 'json'],
  ] as const) {
    it(`${what} is refused (it applied the default: every tool allowed)`, () => {
      const path = join(dir, `p-${ext}-${text.length}.${ext}`);
      writeFileSync(path, text);
      expect(() => loadPolicyFile(path)).to.throw(ConfigError, /POLICY_FILE .*: has no `policies` list/);
    });
  }

  it('a budget keyed by a pattern is refused (it budgeted only a tool literally named examples__*: the others had none)', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', tools: { budgets: { 'examples__*': 2 } } }] })).to.throw(ConfigError, /policies\.0\.tools\.budgets\.examples__\*: .*exact tool name/);
    expect(resolvePolicy(parsePolicy({ policies: [{ tenant: 'acme', tools: { budgets: { examples__echo: 2 } } }] }), 'acme').tools.budgets).to.deep.equal({ examples__echo: 2 });
  });

  it('a wei amount written as a bare YAML number too large to be exact is refused, saying to quote it', () => {
    const path = join(dir, 'unquoted.yaml');
    writeFileSync(path, 'policies:\n  - tenant: acme\n    native: { maxValueWei: 1000000000000000000 }\n');
    expect(() => loadPolicyFile(path)).to.throw(ConfigError, /policies\.0\.native\.maxValueWei: .*write it as a decimal string \("1000000000000000000"\)/);
    writeFileSync(path, 'policies:\n  - tenant: acme\n    native: { maxValueWei: "1000000000000000000" }\n');
    expect(loadPolicyFile(path).policies[0].native.maxValueWei).to.equal('1000000000000000000');
  });

  it('a JSON file naming a key twice is refused, naming where (JSON.parse kept the last: a deny list before it was dropped)', () => {
    const path = join(dir, 'twice.json');
    writeFileSync(path, '{"policies":[{"tenant":"acme","tools":{"deny":["examples__now"],\n "deny":[]}}]}');
    expect(() => loadPolicyFile(path)).to.throw(ConfigError, /POLICY_FILE .*twice\.json: names "deny" twice .*line 2/);
    // The same entries under distinct keys load as before.
    writeFileSync(path, '{"policies":[{"tenant":"acme","tools":{"deny":["examples__now"],"allow":["*"]}}]}');
    expect(loadPolicyFile(path).policies[0].tools.deny).to.deep.equal(['examples__now']);
  });

  for (const [field, value, why] of [
    ['deny', 'Examples__now', 'a server name is lowercase'],
    ['deny', ' examples__now', 'a leading space'],
    ['deny', 'examples.now', 'no <server>__ separator'],
    ['deny', 'examples_now', 'one underscore'],
    ['deny', 'Examples__*', 'a pattern whose server part is not lowercase'],
    ['allow', 'examples.*', 'a pattern with no separator before the *'],
  ] as const) {
    it(`a tools.${field} pattern that names no tool is refused (${why}: it matched nothing, silently)`, () => {
      const doc = { policies: [{ tenant: 'acme', tools: { [field]: ['examples__echo', value] } }] };
      expect(() => parsePolicy(doc)).to.throw(ConfigError, new RegExp(`policies\\.0\\.tools\\.${field}\\.1: .*names no tool`));
    });
  }

  it('a budget keyed by a name no tool can have is refused (the tool it meant had no budget)', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', tools: { budgets: { Examples__echo: 1 } } }] })).to.throw(ConfigError, /policies\.0\.tools\.budgets\.Examples__echo: .*names no tool/);
  });

  it('every pattern that can match a tool name still loads (property)', () => {
    const server = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    const tool = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(server, tool, fc.nat(), (s, t, cut) => {
        const name = `${s}__${t}`;
        fc.pre(!name.includes('*'));
        const prefix = name.slice(0, cut % (name.length + 1));
        const p = parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: [name, `${prefix}*`, '*', `*${t}`], deny: [name, `${prefix}*`], budgets: { [name]: 1 } } }] });
        expect(evaluateToolCall(p.policies[0], { tool: name, callsInTask: 0 })).to.include({ decision: 'deny', rule: 'tools.deny' });
      }),
    );
  });

  it('an entry for a tenant no key can have is refused (it never applied: the default allowed every tool)', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme corp', tools: { deny: ['examples__now'] } }] })).to.throw(ConfigError, /policies\.0\.tenant: /);
    expect(() => parsePolicy({ policies: [{ tenant: 'acme ' }] })).to.throw(ConfigError, /policies\.0\.tenant: /);
    expect(parsePolicy({ policies: [{ tenant: '*' }, { tenant: 'Acme.eu-1' }] }).policies).to.have.length(2);
  });

  it('an agent written as a pattern is refused (agents are matched exactly: "bot-*" applied to no agent)', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', agent: 'bot-*' }] })).to.throw(ConfigError, /policies\.0\.agent: .*exact/);
    expect(parsePolicy({ policies: [{ tenant: 'acme', agent: 'bot-1' }, { tenant: 'acme', agent: '*' }] }).policies).to.have.length(2);
  });

  it('a refused tenant or agent is named with what to write instead', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme corp' }] })).to.throw(ConfigError, /policies\.0\.tenant: "acme corp" .*no key.*write .*"\*"/);
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', agent: 'bot-*' }] })).to.throw(ConfigError, /policies\.0\.agent: "bot-\*" .*exact agentId.*"\*"/);
  });

  it('an agent no task can name (a space, a slash: agentIds are letters, digits, . _ : -) is refused: its entry never applied', () => {
    for (const agent of ['bot 1', 'bot/1', ' bot', '-bot']) {
      expect(() => parsePolicy({ policies: [{ tenant: 'acme', agent }] }), agent).to.throw(ConfigError, /policies\.0\.agent: .*agentId/);
    }
    expect(parsePolicy({ policies: [{ tenant: 'acme', agent: 'Bot.eu:1_x-2' }] }).policies[0].agent).to.equal('Bot.eu:1_x-2');
  });

  it('a tool pattern that names no tool is refused quoting it, and a server part in capitals is shown in lowercase', () => {
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', tools: { deny: ['Examples__now'] } }] })).to.throw(ConfigError, /policies\.0\.tools\.deny\.0: "Examples__now" names no tool.*examples__now/);
    expect(() => parsePolicy({ policies: [{ tenant: 'acme', tools: { budgets: { 'examples.now': 1 } } }] })).to.throw(ConfigError, /budgets\.examples\.now: "examples\.now" names no tool/);
  });

  it('an explicit empty list still loads (no entries: the default)', () => {
    const path = join(dir, 'explicit.yaml');
    writeFileSync(path, 'policies: []\n');
    expect(loadPolicyFile(path)).to.deep.equal({ policies: [] });
  });
});

describe('tool patterns', () => {
  it('a pattern with * matches every name it covers, line breaks included (property)', () => {
    const part = fc.string({ unit: fc.constantFrom('a', '_', '.', '\n', '\r', '\u2028', '(', '$', '*') });
    fc.assert(
      fc.property(part, part, part, (pre, mid, post) => {
        fc.pre(!pre.includes('*') && !post.includes('*'));
        expect(globMatch(`${pre}*${post}`, `${pre}${mid}${post}`)).to.equal(true);
        expect(globMatch('*', mid)).to.equal(true);
      }),
    );
  });

  /** The reference: `*` is any run of UTF-16 units (line breaks included), all else literal, as a regex reads it. */
  const byRegex = (pattern: string, name: string) => new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(name);

  it('matches exactly as the pattern read as a regex (* any run, the rest literal) would (property)', () => {
    const unit = fc.constantFrom('a', 'b', '_', '*', '.', '\n', '\ud83d', '\ude00');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '_', '*', '.', '\n', '\ud83d', '\ude00'), maxLength: 12 }), (pattern, name) => {
        expect(globMatch(pattern, name), `${JSON.stringify(pattern)} ${JSON.stringify(name)}`).to.equal(byRegex(pattern, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('a pattern of many * against a long tool name costs no backtracking of the event loop (a regex took 47 s for this one)', () => {
    // An upstream chooses its tools' names (up to 200 characters): against a regex `^.*a.*a.*a.*a.*b$`
    // such a name took time of the fifth power of its length, with the event loop blocked for
    // every tenant. Here it is a product of the two lengths.
    expect(globMatch('*a*a*a*a*b', 'a'.repeat(200))).to.equal(false);
    expect(globMatch('*_*_*_*_*_*x', `s__${'_'.repeat(197)}`)).to.equal(false);
    expect(globMatch('*a*a*a*a*b', `${'a'.repeat(199)}b`)).to.equal(true);
  });

  it('a deny pattern stops a tool whose name has a line break (it was let through by a literal allow)', () => {
    const p = AgentPolicySchema.parse({ tenant: 'acme', tools: { allow: ['files__read\nall'], deny: ['files__*'] } });
    expect(evaluateToolCall(p, { tool: 'files__read\nall', callsInTask: 0 })).to.include({ decision: 'deny', rule: 'tools.deny' });
  });
});

describe('policy file: a refusal says where in the file', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'policy-file-at-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    try {
      loadPolicyFile(path);
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('a misspelt key is placed at its line and column (YAML), not only by its path', () => {
    const text = 'policies:\n  - tenant: acme\n    tools:\n      allow: ["examples__*"]\n      denny: ["examples__now"]\n';
    expect(refusal('typo.yaml', text)).to.match(/policies\.0\.tools: Unrecognized key: "denny" \(line 5, column 7\)/);
  });

  it('a value of the wrong type is placed at the value (JSON too)', () => {
    const text = '{\n  "policies": [\n    { "tenant": "acme",\n      "approvalRequired": "yes" }\n  ]\n}\n';
    expect(refusal('type.json', text)).to.match(/policies\.0\.approvalRequired: .*boolean.* \(line 4, column 27\)/);
  });

  it('names every problem of the file, not only the first (one restart per typo found)', () => {
    const text = 'policies:\n  - tenant: acme\n    tools: { alow: ["examples__*"] }\n    approvals: 0\n  - tenant: acme\n    agent: bot\n    native: { maxValueWei: -1 }\n';
    const msg = refusal('many.yaml', text);
    expect(msg).to.match(/policies\.0\.tools: Unrecognized key: "alow" \(line 3, column 14\)/);
    expect(msg).to.match(/policies\.0\.approvals: .* \(line 4, column 16\)/);
    expect(msg).to.match(/policies\.1\.native\.maxValueWei: .* \(line 7, column 28\)/);
  });

  it('a JSON syntax error is placed at its line and column (Node 20 said only "at position 52")', () => {
    const text = '{\n  "policies": [\n    { "tenant": "acme", }\n  ]\n}\n';
    expect(refusal('syntax.json', text)).to.match(/not valid JSON\/YAML: .* \(line 3, column 25\)/);
  });
});

describe('policy versions (policyEntryHash)', () => {
  it('an auditor holding the file recomputes an entry\'s hash without the gateway: SHA-256 of the RFC 8785 JSON of the entry as written (whatever the release\'s defaults)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-hash-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, 'policies:\r\n  - tenant: acme   # the shop\r\n    contracts:\r\n      - { chainId: 1, address: "0xAbCdEf0000000000000000000000000000000001", methods: { "transfer(address, uint256)": { amountArg: 1, maxAmount: 1000 } } }\r\n');
      // What any JCS library gives from the entry as the file writes it (parsed YAML, nothing filled in or rewritten).
      const written = { tenant: 'acme', contracts: [{ chainId: 1, address: '0xAbCdEf0000000000000000000000000000000001', methods: { 'transfer(address, uint256)': { amountArg: 1, maxAmount: 1000 } } }] };
      const expected = `0x${createHash('sha256').update(canonicalize(written)!, 'utf8').digest('hex')}`;
      expect(policyHashes(loadPolicyFile(file))).to.deep.equal({ 'acme/*': expected });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same file gives the same hashes (key order); a changed limit changes its entry\'s hash only', () => {
    const a = parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['examples__*'], budgets: { examples__echo: 2 } } }, { tenant: 'beta' }] });
    const b = parsePolicy({ policies: [{ tools: { budgets: { examples__echo: 2 }, allow: ['examples__*'] }, tenant: 'acme' }, { tenant: 'beta' }] });
    const c = parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['examples__*'], budgets: { examples__echo: 3 } } }, { tenant: 'beta' }] });
    expect(policyHashes(a)).to.deep.equal(policyHashes(b));
    expect(policyHashes(c)['acme/*']).to.not.equal(policyHashes(a)['acme/*']);
    expect(policyHashes(c)['beta/*']).to.equal(policyHashes(a)['beta/*']);
    expect(Object.keys(policyHashes(a))).to.deep.equal(['acme/*', 'beta/*']);
  });
});

describe('policy patterns naming a server no tenant has (unregisteredServerPatterns)', () => {
  it('names a deny, allow or budget whose server part is not registered for the entry\'s tenant (a typo: it stops or bounds nothing)', () => {
    const file = parsePolicy({
      policies: [
        { tenant: 'acme', tools: { allow: ['examples__*', 'files__read', '*'], deny: ['exmaples__now', 'examples__now', 'ex*__x'], budgets: { exmaples__echo: 1 } } },
        { tenant: '*', tools: { deny: ['files__delete', 'chain__send_transaction'] } },
      ],
    });
    const servers: Record<string, string[]> = { acme: ['examples'], '*': ['examples', 'files'] };
    expect(unregisteredServerPatterns(file, (t) => servers[t] ?? [])).to.deep.equal([
      { entry: 'acme/*', field: 'tools.allow', pattern: 'files__read', server: 'files' },
      { entry: 'acme/*', field: 'tools.deny', pattern: 'exmaples__now', server: 'exmaples' },
      { entry: 'acme/*', field: 'tools.budgets', pattern: 'exmaples__echo', server: 'exmaples' },
    ]);
    // chain__read_contract and chain__send_transaction are the runtime's own tools, not a server's.
    expect(unregisteredServerPatterns(parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['chain__*'] } }] }), () => [])).to.deep.equal([]);
  });
});
