import { expect } from 'chai';
import fc from 'fast-check';
import {
  AgentPolicySchema,
  evaluateContractRead,
  evaluateToolCall,
  evaluateTransaction,
  parsePolicy,
  proposalHash,
  resolvePolicy,
  DEFAULT_POLICY,
  type Proposal,
} from '../../src/agent/policy';

const TOKEN = '0x1111111111111111111111111111111111111111';
const policy = AgentPolicySchema.parse({
  tenant: 'acme',
  agent: '*',
  tools: { allow: ['examples__*', 'chain__*'], deny: ['examples__now'], budgets: { examples__echo: 2 } },
  contracts: [{ chainId: 31337, address: TOKEN, name: 'Token', methods: { transfer: { amountArg: 1, maxAmount: '1000', approvalAbove: '100', dailyCap: '1500' }, ping: {} } }],
  native: { maxValueWei: '1000000', dailyCapWei: '1500000', approvalAboveWei: '500000' },
  maxGasLimit: '300000',
});

const hexAddr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
const amount = fc.bigInt({ min: 0n, max: 10n ** 24n });

function transfer(to: string, amt: bigint, extra: Partial<Proposal> = {}): Proposal {
  return { chainId: 31337, to: TOKEN, method: 'transfer', args: [to, amt.toString()], value: '0', gas: '60000', ...extra };
}

describe('policy engine (pure)', () => {
  it('denies any contract that is not allowlisted, naming contracts.unknown (reads and writes)', () => {
    fc.assert(
      fc.property(hexAddr, fc.integer({ min: 1, max: 1_000_000 }), (addr, chainId) => {
        fc.pre(!(addr === TOKEN && chainId === 31337));
        const d = evaluateTransaction(policy, { proposal: { ...transfer(addr, 1n), to: addr, chainId }, maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n });
        expect(d).to.include({ decision: 'deny', rule: 'contracts.unknown' });
        expect(evaluateContractRead(policy, chainId, addr).rule).to.equal('contracts.unknown');
      }),
    );
  });

  it('never allows an amount above the maximum, and never denies below the approval threshold within caps', () => {
    fc.assert(
      fc.property(hexAddr, amount, fc.bigInt({ min: 0n, max: 2000n }), (to, amt, spent) => {
        const d = evaluateTransaction(policy, { proposal: transfer(to, amt), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: spent });
        if (amt > 1000n) expect(d).to.include({ decision: 'deny', rule: 'method.maxAmount' });
        else if (spent + amt > 1500n) expect(d).to.include({ decision: 'deny', rule: 'method.dailyCap' });
        else if (amt > 100n) expect(d).to.include({ decision: 'require_approval', rule: 'method.approvalAbove' });
        else expect(d.decision).to.equal('allow');
      }),
    );
  });

  it('approvals and selfApproval: the method rule wins, else the entry, else one approver, anyone; on every approval rule (property)', () => {
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    fc.assert(
      fc.property(opt(fc.integer({ min: 1, max: 10 })), opt(fc.boolean()), opt(fc.integer({ min: 1, max: 10 })), opt(fc.boolean()), fc.boolean(), (entryN, entrySelf, methodN, methodSelf, always) => {
        const p = AgentPolicySchema.parse({
          tenant: 'acme',
          approvalRequired: always,
          ...(entryN !== undefined ? { approvals: entryN } : {}),
          ...(entrySelf !== undefined ? { selfApproval: entrySelf } : {}),
          contracts: [{ chainId: 31337, address: TOKEN, methods: { transfer: { amountArg: 1, approvalAbove: '100', ...(methodN !== undefined ? { approvals: methodN } : {}), ...(methodSelf !== undefined ? { selfApproval: methodSelf } : {}) } } }],
        });
        const d = evaluateTransaction(p, { proposal: transfer(TOKEN, 500n), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n });
        expect(d).to.include({ decision: 'require_approval', rule: always ? 'approval.always' : 'method.approvalAbove' });
        const q = { required: methodN ?? entryN ?? 1, selfApproval: methodSelf ?? entrySelf ?? true };
        expect(d.approvals).to.deep.equal(q);
        if (q.required > 1) expect(d.reason).to.contain(`${q.required} distinct approvers`);
        if (!q.selfApproval) expect(d.reason).to.contain("not the task's submitter");
        if (q.required === 1 && q.selfApproval) expect(d.reason).to.not.contain('(');
        // Below the threshold nothing waits, whatever the quorum says.
        if (!always) expect(evaluateTransaction(p, { proposal: transfer(TOKEN, 50n), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n }).decision).to.equal('allow');
      }),
    );
  });

  it('refuses a quorum that is not 1 to 10 approvers, naming the field', () => {
    for (const [bad, path] of [
      [{ tenant: 'acme', approvals: 0 }, 'approvals'],
      [{ tenant: 'acme', approvals: 11 }, 'approvals'],
      [{ tenant: 'acme', approvals: 1.5 }, 'approvals'],
      [{ tenant: 'acme', selfApproval: 'no' }, 'selfApproval'],
      [{ tenant: 'acme', contracts: [{ chainId: 1, address: TOKEN, methods: { transfer: { approvals: -1 } } }] }, 'contracts.0.methods.transfer.approvals'],
    ] as const) {
      const r = AgentPolicySchema.safeParse(bad);
      expect(r.success, JSON.stringify(bad)).to.equal(false);
      expect(r.error!.issues[0].path.join('.')).to.equal(path);
    }
  });

  it('orders native value rules: cap (value), then daily cap (value + gas at most), then approval (value)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 3_000_000n }), fc.bigInt({ min: 0n, max: 2_000_000n }), fc.bigInt({ min: 0n, max: 20n }), (value, spent, fee) => {
        const d = evaluateTransaction(policy, { proposal: { ...transfer(TOKEN, 0n), method: 'ping', args: [], value: value.toString(), gas: '21000' }, maxFeePerGas: fee, nativeSpentToday: spent, methodSpentToday: 0n });
        const cost = value + 21_000n * fee;
        if (value > 1_000_000n) expect(d.rule).to.equal('native.maxValue');
        else if (cost > 0n && spent + cost > 1_500_000n) expect(d.rule).to.equal('native.dailyCap');
        else if (value > 500_000n) expect(d.rule).to.equal('native.approvalAbove');
        else expect(d.decision).to.equal('allow');
      }),
    );
  });

  it('the native daily cap counts gas: a call of value 0 is denied once its gas could pass the cap, naming the amounts', () => {
    const capped = AgentPolicySchema.parse({ tenant: 'acme', native: { dailyCapWei: '1000000' }, contracts: [{ chainId: 31337, address: TOKEN, methods: { transfer: { amountArg: 1 } } }] });
    const facts = (spent: bigint, fee: bigint) => ({ proposal: transfer(TOKEN, 1n, { gas: '50000' }), maxFeePerGas: fee, nativeSpentToday: spent, methodSpentToday: 0n });
    expect(evaluateTransaction(capped, facts(0n, 20n)).decision, '50,000 × 20 = the cap').to.equal('allow');
    const d = evaluateTransaction(capped, facts(1n, 20n));
    expect(d).to.include({ decision: 'deny', rule: 'native.dailyCap' });
    expect(d.reason).to.equal("value 0 wei + up to 1000000 wei of gas (gas limit 50000 × max fee 20 wei) would bring today's spend to 1000001 wei (1 spent), above the daily cap 1000000");
    expect(evaluateTransaction(capped, facts(0n, 21n)).rule, 'a higher fee').to.equal('native.dailyCap');
    // Free gas, no value: nothing to count (as before, whatever was spent).
    expect(evaluateTransaction(capped, facts(5_000_000n, 0n)).decision).to.equal('allow');
  });

  it('is monotone in the fee: a lower max fee per gas never turns an allow into a deny (property)', () => {
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 2_000_000n }), (value, a, b, spent) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const of = (fee: bigint) => evaluateTransaction(policy, { proposal: { ...transfer(TOKEN, 0n), method: 'ping', args: [], value: value.toString() }, maxFeePerGas: fee, nativeSpentToday: spent, methodSpentToday: 0n });
        if (of(hi).decision !== 'deny') expect(of(lo).decision).to.equal(of(hi).decision);
      }),
    );
  });

  it('is monotone: lowering the amount never turns an allow into a deny', () => {
    fc.assert(
      fc.property(hexAddr, amount, amount, (to, a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const dHi = evaluateTransaction(policy, { proposal: transfer(to, hi), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n });
        const dLo = evaluateTransaction(policy, { proposal: transfer(to, lo), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n });
        if (dHi.decision === 'allow') expect(dLo.decision).to.equal('allow');
        if (dHi.decision !== 'deny') expect(dLo.decision).to.not.equal('deny');
      }),
    );
  });

  it('caps the gas limit and refuses methods that are not listed', () => {
    expect(evaluateTransaction(policy, { proposal: transfer(TOKEN, 1n, { gas: '300001' }), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n }).rule).to.equal('gas.limitCap');
    expect(evaluateTransaction(policy, { proposal: transfer(TOKEN, 1n, { method: 'approve' }), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n }).rule).to.equal('contracts.method');
  });

  it('checks tools against deny, allow and per-task budgets', () => {
    expect(evaluateToolCall(policy, { tool: 'examples__now', callsInTask: 0 }).rule).to.equal('tools.deny');
    expect(evaluateToolCall(policy, { tool: 'files__read', callsInTask: 0 }).rule).to.equal('tools.allow');
    expect(evaluateToolCall(policy, { tool: 'files__read', callsInTask: 0 }).decision).to.equal('deny');
    expect(evaluateToolCall(policy, { tool: 'examples__echo', callsInTask: 1 }).decision).to.equal('allow');
    expect(evaluateToolCall(policy, { tool: 'examples__echo', callsInTask: 2 })).to.include({ decision: 'deny', rule: 'tools.budget' });
  });

  it('binds a proposal hash to every field: changing any one changes the hash', () => {
    fc.assert(
      fc.property(hexAddr, amount, fc.constantFrom('chainId', 'to', 'method', 'signature', 'args', 'value', 'gas'), (to, amt, field) => {
        const p = transfer(to, amt);
        const changed: Proposal = { ...p };
        if (field === 'chainId') changed.chainId = p.chainId + 1;
        if (field === 'to') changed.to = '0x2222222222222222222222222222222222222222';
        if (field === 'method') changed.method = 'approve';
        if (field === 'signature') changed.signature = 'transfer(address,uint256)';
        if (field === 'args') changed.args = [to, (amt + 1n).toString()];
        if (field === 'value') changed.value = '1';
        if (field === 'gas') changed.gas = '60001';
        expect(proposalHash(changed)).to.not.equal(proposalHash(p));
        expect(proposalHash({ ...p })).to.equal(proposalHash(p));
      }),
    );
  });

  it('resolves the most specific entry and falls back to the default (no contracts)', () => {
    const file = parsePolicy({ policies: [{ tenant: 'acme' }, { tenant: 'acme', agent: 'bot', approvalRequired: true }, { tenant: '*', tools: { allow: [] } }] });
    expect(resolvePolicy(file, 'acme', 'bot').approvalRequired).to.equal(true);
    expect(resolvePolicy(file, 'acme', 'other').approvalRequired).to.equal(false);
    expect(resolvePolicy(file, 'globex').tools.allow).to.deep.equal([]);
    expect(resolvePolicy({ policies: [] }, 'x')).to.equal(DEFAULT_POLICY);
    expect(() => parsePolicy({ policies: [{ tenant: 'a', native: { maxValueWei: '1.5' } }] })).to.throw(/native.maxValueWei/);
  });

  it('refuses amount limits without amountArg (they capped nothing: every amount was allowed)', () => {
    for (const limit of [{ maxAmount: '10' }, { dailyCap: '10' }, { approvalAbove: '10' }]) {
      expect(() => parsePolicy({ policies: [{ tenant: 'a', contracts: [{ chainId: 1, address: TOKEN, methods: { transfer: limit } }] }] })).to.throw(/methods\.transfer\.amountArg: required/);
    }
    expect(parsePolicy({ policies: [{ tenant: 'a', contracts: [{ chainId: 1, address: TOKEN, methods: { transfer: { approvalRequired: true }, ping: {} } }] }] }).policies).to.have.length(1);
  });
});

describe('policy engine: overloaded methods', () => {
  const VAULT = '0x3333333333333333333333333333333333333333';
  const overloads = ['withdraw(uint256)', 'withdraw(uint256,uint256)'];
  const vaultPolicy = (methods: Record<string, unknown>) => AgentPolicySchema.parse({ tenant: 'acme', contracts: [{ chainId: 31337, address: VAULT, methods }] });
  const withdraw = (signature: string | undefined, args: string[]): Proposal => ({ chainId: 31337, to: VAULT, method: 'withdraw', ...(signature ? { signature } : {}), args, value: '0', gas: '60000' });
  const fnOf = (signature: string) => ({ inputs: signature === overloads[0] ? ['amount'] : ['id', 'amount'], overloads });

  it('a rule keyed by the bare name of an overloaded method never allows, whatever the overload and arguments', () => {
    const p = vaultPolicy({ withdraw: { amountArg: 0, maxAmount: '1000' } });
    fc.assert(
      fc.property(fc.constantFrom(...overloads, undefined), fc.array(amount.map(String), { minLength: 1, maxLength: 2 }), (sig, args) => {
        const d = evaluateTransaction(p, { proposal: withdraw(sig, args), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n, fn: fnOf(sig ?? overloads[1]) });
        expect(d).to.include({ decision: 'deny', rule: 'method.overloaded' });
      }),
    );
  });

  it('the amount is read where the matched rule says, for that overload: by name or by position', () => {
    const p = vaultPolicy({ 'withdraw(uint256)': { amountArg: 0, maxAmount: '1000' }, 'withdraw(uint256 id, uint256 amount)': { amountArg: 'amount', maxAmount: '1000' } });
    fc.assert(
      fc.property(fc.constantFrom(...overloads), amount, amount, (sig, id, amt) => {
        const args = sig === overloads[0] ? [amt.toString()] : [id.toString(), amt.toString()];
        const d = evaluateTransaction(p, { proposal: withdraw(sig, args), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n, fn: fnOf(sig) });
        expect(d.decision).to.equal(amt > 1000n ? 'deny' : 'allow');
        if (amt > 1000n) expect(d.rule).to.equal('method.maxAmount');
      }),
    );
  });

  it('an overload with no rule of its own is not allowlisted; an amountArg name it lacks is not an amount', () => {
    const only = vaultPolicy({ 'withdraw(uint256)': { amountArg: 0, maxAmount: '1000' } });
    expect(evaluateTransaction(only, { proposal: withdraw(overloads[1], ['1', '5']), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n, fn: fnOf(overloads[1]) })).to.include({ decision: 'deny', rule: 'contracts.method' });
    const named = vaultPolicy({ 'withdraw(uint256)': { amountArg: 'value', maxAmount: '1000' } });
    expect(evaluateTransaction(named, { proposal: withdraw(overloads[0], ['5']), maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n, fn: fnOf(overloads[0]) })).to.include({ decision: 'deny', rule: 'method.amount' });
  });

  it('keeps signature keys in canonical form and refuses bad or duplicate ones, naming the key', () => {
    const p = vaultPolicy({ 'withdraw(uint id, uint amount)': {}, withdraw: {} });
    expect(Object.keys(p.contracts[0].methods)).to.deep.equal(['withdraw(uint256,uint256)', 'withdraw']);
    const doc = (methods: Record<string, unknown>) => ({ policies: [{ tenant: 'a', contracts: [{ chainId: 1, address: VAULT, methods }] }] });
    expect(() => parsePolicy(doc({ 'withdraw(uint256': {} }))).to.throw(/methods\.withdraw\(uint256: not a function signature/);
    expect(() => parsePolicy(doc({ 'withdraw(uint256)': {}, 'withdraw(uint)': {} }))).to.throw(/same function/);
    expect(() => parsePolicy(doc({ withdraw: { amountArg: 'not a name' } }))).to.throw(/amountArg/);
  });
});

describe('evaluateTransaction: a method or tool named like an Object.prototype member has no rule', () => {
  const TOKEN = '0x1111111111111111111111111111111111111111';
  const p = AgentPolicySchema.parse({
    tenant: 'acme',
    tools: { allow: ['*'], budgets: { kv__get: 2 } },
    contracts: [{ chainId: 31337, address: TOKEN, methods: { transfer: { amountArg: 1, maxAmount: '1000' } } }],
  });
  for (const method of ['valueOf', 'toString', 'hasOwnProperty', '__proto__', 'constructor']) {
    it(`"${method}" is denied as not allowlisted (it was allowed with no limit)`, () => {
      const proposal = { chainId: 31337, to: TOKEN, method, args: ['0x000000000000000000000000000000000000beef', '999999999'], value: '0', gas: '60000' };
      expect(evaluateTransaction(p, { proposal, maxFeePerGas: 0n, nativeSpentToday: 0n, methodSpentToday: 0n })).to.include({ decision: 'deny', rule: 'contracts.method' });
    });
  }
  it('a tool named toString has no budget (the allowlist decides)', () => {
    expect(evaluateToolCall(p, { tool: 'toString', callsInTask: 5 }).decision).to.equal('allow');
  });
});

describe('evaluateTransaction: no limit is ever passed (property over random policies and proposals)', () => {
  const TOKEN = '0x1111111111111111111111111111111111111111';
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const big = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
  const small = fc.bigInt({ min: 0n, max: 2000n });
  const limit = opt(fc.oneof(small, big).map(String));

  it('allow means within every cap and under every approval threshold; approval means within every cap', () => {
    fc.assert(
      fc.property(
        fc.record({ maxValueWei: limit, dailyCapWei: limit, approvalAboveWei: limit, maxGasLimit: limit, maxAmount: limit, dailyCap: limit, approvalAbove: limit }),
        fc.record({ value: fc.oneof(small, big), gas: fc.oneof(small, big), fee: fc.oneof(fc.constant(0n), small, big), amount: fc.oneof(small, big), nativeSpent: fc.oneof(small, big), methodSpent: fc.oneof(small, big) }),
        fc.constantFrom((a: string) => a, (a: string) => a.toUpperCase().replace('0X', '0x')),
        (l, x, caseOf) => {
          const defined = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
          const p = AgentPolicySchema.parse({
            tenant: 'acme',
            native: defined({ maxValueWei: l.maxValueWei, dailyCapWei: l.dailyCapWei, approvalAboveWei: l.approvalAboveWei }),
            ...defined({ maxGasLimit: l.maxGasLimit }),
            contracts: [{ chainId: 1, address: caseOf(TOKEN), methods: { 'transfer(address,uint256)': { amountArg: 'amount', ...defined({ maxAmount: l.maxAmount, dailyCap: l.dailyCap, approvalAbove: l.approvalAbove }) } } }],
          });
          const proposal: Proposal = { chainId: 1, to: caseOf(TOKEN), method: 'transfer', signature: 'transfer(address,uint256)', args: [TOKEN, x.amount.toString()], value: x.value.toString(), gas: x.gas.toString() };
          const d = evaluateTransaction(p, { proposal, fn: { inputs: ['to', 'amount'], overloads: ['transfer(address,uint256)'] }, maxFeePerGas: x.fee, nativeSpentToday: x.nativeSpent, methodSpentToday: x.methodSpent });
          // The most it can take from the wallet: value and its whole gas limit at the max fee.
          const cost = x.value + x.gas * x.fee;
          const le = (v: bigint, cap?: string) => cap === undefined || v <= BigInt(cap);
          const withinCaps =
            le(x.gas, l.maxGasLimit) &&
            le(x.value, l.maxValueWei) &&
            (cost === 0n || le(x.nativeSpent + cost, l.dailyCapWei)) &&
            le(x.amount, l.maxAmount) &&
            le(x.methodSpent + x.amount, l.dailyCap);
          const underThresholds = le(x.value, l.approvalAboveWei) && le(x.amount, l.approvalAbove);
          expect(d.decision, d.reason).to.equal(!withinCaps ? 'deny' : underThresholds ? 'allow' : 'require_approval');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is monotone in gas and fee: what is denied at gas 0 and fee 0 is denied at any (the runtime judges that before estimating gas)', () => {
    fc.assert(
      fc.property(
        fc.record({ maxValueWei: limit, dailyCapWei: limit, approvalAboveWei: limit, maxGasLimit: limit, maxAmount: limit, dailyCap: limit, approvalAbove: limit, approvalRequired: fc.boolean() }),
        fc.record({ value: fc.oneof(small, big), gas: fc.oneof(small, big), fee: fc.oneof(fc.constant(0n), small, big), amount: fc.oneof(small, big), nativeSpent: fc.oneof(small, big), methodSpent: fc.oneof(small, big) }),
        (l, x) => {
          const defined = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
          const p = AgentPolicySchema.parse({
            tenant: 'acme',
            native: defined({ maxValueWei: l.maxValueWei, dailyCapWei: l.dailyCapWei, approvalAboveWei: l.approvalAboveWei }),
            ...defined({ maxGasLimit: l.maxGasLimit }),
            approvalRequired: l.approvalRequired,
            contracts: [{ chainId: 1, address: TOKEN, methods: { 'transfer(address,uint256)': { amountArg: 'amount', ...defined({ maxAmount: l.maxAmount, dailyCap: l.dailyCap, approvalAbove: l.approvalAbove }) } } }],
          });
          const at = (gas: bigint, fee: bigint) =>
            evaluateTransaction(p, {
              proposal: { chainId: 1, to: TOKEN, method: 'transfer', signature: 'transfer(address,uint256)', args: [TOKEN, x.amount.toString()], value: x.value.toString(), gas: gas.toString() },
              fn: { inputs: ['to', 'amount'], overloads: ['transfer(address,uint256)'] },
              maxFeePerGas: fee,
              nativeSpentToday: x.nativeSpent,
              methodSpentToday: x.methodSpent,
            });
          if (at(0n, 0n).decision === 'deny') expect(at(x.gas, x.fee).decision).to.equal('deny');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('evaluateToolCall: names are matched exactly, deny first (property)', () => {
  // Tool parts with what makes names look alike: case, a Cyrillic о, a zero-width space, a combining accent, regex syntax.
  const unit = fc.constantFrom('a', 'b', 'o', 'O', '\u043e', '\u200b', 'e', '\u0301', '\u00e9', '.', '_', '-', '(', '[', '\\', '$', '^', '+', '?', '|');
  const toolPart = fc.string({ unit, minLength: 1, maxLength: 8 });
  const server = fc.constantFrom('examples', 'files', 'chain', 'a-b');
  const name = fc.tuple(server, toolPart).map(([s, t]) => `${s}__${t}`);

  it('a literal allow list admits exactly its names: a look-alike (case, confusable, NFD, zero-width) is denied by tools.allow', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 4 }), name, (allowed, called) => {
        const p = AgentPolicySchema.parse({ tenant: 'acme', tools: { allow: allowed } });
        const d = evaluateToolCall(p, { tool: called, callsInTask: 0 });
        if (allowed.includes(called)) expect(d).to.include({ decision: 'allow', rule: 'tools.allow' });
        else expect(d).to.include({ decision: 'deny', rule: 'tools.allow' });
      }),
      { numRuns: 500 },
    );
  });

  it('a name a deny pattern matches is denied whatever the allow list and budgets say, and nothing else is denied by it', () => {
    fc.assert(
      fc.property(name, name, fc.boolean(), fc.nat({ max: 3 }), fc.nat({ max: 3 }), (denied, called, byPrefix, budget, calls) => {
        const deny = byPrefix ? `${denied.slice(0, denied.indexOf('__') + 2)}*` : denied;
        const p = AgentPolicySchema.parse({ tenant: 'acme', tools: { allow: ['*', called], deny: [deny], budgets: { [called]: budget } } });
        const d = evaluateToolCall(p, { tool: called, callsInTask: calls });
        const matches = byPrefix ? called.startsWith(deny.slice(0, -1)) : called === denied;
        if (matches) expect(d).to.include({ decision: 'deny', rule: 'tools.deny' });
        else expect(d.rule).to.not.equal('tools.deny');
        // The budget: the n+1th call is the first refused.
        if (!matches) expect(d).to.include(calls >= budget ? { decision: 'deny', rule: 'tools.budget' } : { decision: 'allow', rule: 'tools.allow' });
      }),
      { numRuns: 500 },
    );
  });
});
