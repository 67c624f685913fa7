import type { FunctionFacts } from '../../web3/contract-function';
import { amountOf, matchMethodRule } from './method-rule';
import { maxNativeCost } from './native-cost';
import type { AgentPolicy, ContractRule, MethodRule } from './policy';
import type { Proposal } from './proposal';

export type PolicyDecision = {
  decision: 'allow' | 'deny' | 'require_approval';
  /** Stable rule name, recorded in PolicyEvaluated (see docs/policy.md). */
  rule: string;
  reason: string;
  /** With require_approval: distinct approvers needed, and whether the task's submitter may be one. */
  approvals?: ApprovalQuorum;
};

/** How a held transaction is released: `required` distinct approvers; the task's submitter among them only with `selfApproval`. */
export type ApprovalQuorum = { required: number; selfApproval: boolean };

export type ToolCallFacts = {
  tool: string;
  /** Calls of this tool already made in this task (started steps). */
  callsInTask: number;
};

export type TransactionFacts = {
  proposal: Proposal;
  /** Wei already spent today by this tenant's agent on this chain (values and gas). */
  nativeSpentToday: bigint;
  /**
   * The fee per gas the transaction is (to be) signed with: its `maxFeePerGas` (the `gasPrice` of a
   * legacy one). With the proposal's gas limit it bounds what its gas can cost, which counts in
   * the native daily cap whatever the value (a call of value 0 pays gas too). 0 = gas is free.
   */
  maxFeePerGas: bigint;
  /** Amount already moved today under the method's rule (its amountArg), when it has one. */
  methodSpentToday: bigint;
  /**
   * The proposed function in the contract's ABI (parameter names, overloads). The runtime always
   * gives it; without it a bare-name rule applies and an amountArg given by name cannot be read.
   */
  fn?: FunctionFacts;
};

const allow = (rule: string, reason: string): PolicyDecision => ({ decision: 'allow', rule, reason });
const deny = (rule: string, reason: string): PolicyDecision => ({ decision: 'deny', rule, reason });
const approval = (rule: string, reason: string, approvals: ApprovalQuorum): PolicyDecision => ({ decision: 'require_approval', rule, reason, approvals });

/** The method rule's own quorum settings, else the entry's, else one approver, anyone. */
export function approvalQuorum(policy: AgentPolicy, method: MethodRule): ApprovalQuorum {
  return { required: method.approvals ?? policy.approvals ?? 1, selfApproval: method.selfApproval ?? policy.selfApproval ?? true };
}

/**
 * `*` matches any run of characters (line breaks too: a deny pattern must not miss a name for one);
 * everything else is literal, compared unit by unit. Matched without a regex, in time of the
 * product of the two lengths at worst: a pattern of several `*` made a backtracking regex take time
 * of a power of the name's length (`*a*a*a*a*b` against a 200-letter name an upstream chose: 47 s,
 * the event loop blocked for every tenant). Greedy, going back only to the last `*` seen.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  // The last `*` met, and the position in the name it has matched up to so far.
  let star = -1;
  let upTo = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      upTo = n;
    } else if (p < pattern.length && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (star >= 0) {
      // The last `*` takes one more unit, and what follows it is tried again from there.
      p = star + 1;
      n = ++upTo;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Pure: may this tool be called now? Deny list first, then allow list, then the per-task budget. */
export function evaluateToolCall(policy: AgentPolicy, facts: ToolCallFacts): PolicyDecision {
  const { tool } = facts;
  const denied = policy.tools.deny.find((p) => globMatch(p, tool));
  if (denied) return deny('tools.deny', `tool ${tool} matches deny pattern ${denied}`);
  if (!policy.tools.allow.some((p) => globMatch(p, tool))) return deny('tools.allow', `tool ${tool} is not in the allowlist`);
  // Own keys only: a tool or method named like an Object.prototype member (toString, __proto__) has no rule.
  const budget = Object.hasOwn(policy.tools.budgets, tool) ? policy.tools.budgets[tool] : undefined;
  if (budget !== undefined && facts.callsInTask >= budget) {
    return deny('tools.budget', `tool ${tool} already called ${facts.callsInTask} times in this task (budget ${budget})`);
  }
  return allow('tools.allow', `tool ${tool} is allowed`);
}

export function findContract(policy: AgentPolicy, chainId: number, address: string): ContractRule | undefined {
  const a = address.toLowerCase();
  return policy.contracts.find((c) => c.chainId === chainId && c.address === a);
}

/** Pure: may the agent read this contract? Only allowlisted contracts (deny by default). */
export function evaluateContractRead(policy: AgentPolicy, chainId: number, to: string): PolicyDecision {
  if (!findContract(policy, chainId, to)) return deny('contracts.unknown', `contract ${to.toLowerCase()} on chain ${chainId} is not allowlisted`);
  return allow('contracts.read', `reads of ${to.toLowerCase()} are allowed`);
}

/**
 * Pure: the decision on one proposed transaction. Denials come first (contract, method, gas,
 * value, daily caps), then approvals; the first rule that applies is named. The native daily cap
 * counts the most the transaction can cost (value + gas limit × `maxFeePerGas`); the
 * per-transaction maximum and the approval threshold compare its value alone.
 * Requires `proposal.value` and `proposal.gas` to be decimal strings.
 */
export function evaluateTransaction(policy: AgentPolicy, facts: TransactionFacts): PolicyDecision {
  const p = facts.proposal;
  const contract = findContract(policy, p.chainId, p.to);
  if (!contract) return deny('contracts.unknown', `contract ${p.to} on chain ${p.chainId} is not allowlisted`);
  const label = p.signature ?? p.method;
  const match = matchMethodRule(contract, p, facts.fn);
  if (!match) return deny('contracts.method', `method ${label} of ${contract.name ?? p.to} is not allowlisted`);
  if ('overloaded' in match) {
    return deny('method.overloaded', `${p.method} of ${contract.name ?? p.to} is overloaded (${match.overloaded.join(', ')}): a rule keyed by the bare name does not apply; key each overload by its signature`);
  }
  const method = match.rule;
  const value = BigInt(p.value);
  const gas = BigInt(p.gas);
  if (policy.maxGasLimit !== undefined && gas > BigInt(policy.maxGasLimit)) {
    return deny('gas.limitCap', `gas limit ${gas} is above the cap ${policy.maxGasLimit}`);
  }
  const n = policy.native;
  if (n.maxValueWei !== undefined && value > BigInt(n.maxValueWei)) {
    return deny('native.maxValue', `value ${value} wei is above the per-transaction maximum ${n.maxValueWei}`);
  }
  // The most it can cost, gas included: gas is paid from the same balance, also by a call of value 0.
  const cost = maxNativeCost(p, facts.maxFeePerGas);
  if (n.dailyCapWei !== undefined && cost > 0n && facts.nativeSpentToday + cost > BigInt(n.dailyCapWei)) {
    const fee = cost - value;
    return deny(
      'native.dailyCap',
      `value ${value} wei + up to ${fee} wei of gas (gas limit ${gas} × max fee ${facts.maxFeePerGas} wei) would bring today's spend to ${facts.nativeSpentToday + cost} wei (${facts.nativeSpentToday} spent), above the daily cap ${n.dailyCapWei}`,
    );
  }
  const amount = amountOf(p, method, facts.fn);
  if (amount === null) return deny('method.amount', `argument ${method.amountArg} of ${label} is not an amount`);
  if (amount !== undefined) {
    if (method.maxAmount !== undefined && amount > BigInt(method.maxAmount)) {
      return deny('method.maxAmount', `${label} amount ${amount} is above the maximum ${method.maxAmount}`);
    }
    if (method.dailyCap !== undefined && facts.methodSpentToday + amount > BigInt(method.dailyCap)) {
      return deny('method.dailyCap', `${label} amount ${amount} would bring today's total to ${facts.methodSpentToday + amount}, above the daily cap ${method.dailyCap}`);
    }
  }
  const q = approvalQuorum(policy, method);
  const who = q.required === 1 && q.selfApproval ? '' : ` (${q.required === 1 ? 'one approver' : `${q.required} distinct approvers`}${q.selfApproval ? '' : ", not the task's submitter"})`;
  if (policy.approvalRequired) return approval('approval.always', `every transaction of this agent needs a human approval${who}`, q);
  if (method.approvalRequired) return approval('method.approvalRequired', `every ${label} call needs a human approval${who}`, q);
  if (n.approvalAboveWei !== undefined && value > BigInt(n.approvalAboveWei)) {
    return approval('native.approvalAbove', `value ${value} wei is above ${n.approvalAboveWei}: a human must approve${who}`, q);
  }
  if (amount !== undefined && method.approvalAbove !== undefined && amount > BigInt(method.approvalAbove)) {
    return approval('method.approvalAbove', `${label} amount ${amount} is above ${method.approvalAbove}: a human must approve${who}`, q);
  }
  return allow('contracts.method', `${label} of ${contract.name ?? p.to} within limits`);
}
