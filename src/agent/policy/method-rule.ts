import type { FunctionFacts } from '../../web3/contract-function';
import type { ContractRule, MethodRule } from './policy';
import type { Proposal } from './proposal';

/** The rule that governs a proposed call, under the key it was found by (also its spend meter's name). */
export type MethodRuleMatch = { key: string; rule: MethodRule } | { key: string; overloaded: string[] };

/**
 * Which rule of the contract applies to the proposal: the one keyed by its exact signature, else
 * the one keyed by its bare name — unless the name is overloaded, then `overloaded` (a bare-name
 * rule cannot say where each overload keeps its amount, so applying it would let a cap be dodged
 * through another overload). Undefined: no rule, the method is not allowlisted.
 * `fn` absent (the ABI is unknown): the name is taken as not overloaded.
 */
export function matchMethodRule(contract: ContractRule, p: Proposal, fn?: FunctionFacts): MethodRuleMatch | undefined {
  // Own keys only: a method named like an Object.prototype member (toString, __proto__) has no rule.
  const own = (k: string) => (Object.hasOwn(contract.methods, k) ? contract.methods[k] : undefined);
  const bySignature = p.signature !== undefined ? own(p.signature) : undefined;
  if (bySignature) return { key: p.signature!, rule: bySignature };
  const byName = own(p.method);
  if (!byName) return undefined;
  if (fn && fn.overloads.length > 1) return { key: p.method, overloaded: fn.overloads };
  return { key: p.method, rule: byName };
}

/**
 * The argument position the rule's `amountArg` names for this function: a position as given, a
 * parameter name looked up in `fn.inputs`. Undefined when the rule has no amountArg; -1 when the
 * name is not a parameter of this function (or its ABI is unknown).
 */
export function amountIndex(rule: MethodRule, fn?: FunctionFacts): number | undefined {
  const a = rule.amountArg;
  if (a === undefined || typeof a === 'number') return a;
  return fn ? fn.inputs.indexOf(a) : -1;
}

/**
 * The amount a call moves under its rule: the argument `amountArg` names, when it is a decimal
 * integer. `undefined` = the rule has no amountArg; `null` = it has one but the argument is not
 * an amount (absent, not an integer, or no such parameter): the policy denies.
 */
export function amountOf(p: Proposal, rule: MethodRule, fn?: FunctionFacts): bigint | null | undefined {
  const i = amountIndex(rule, fn);
  if (i === undefined) return undefined;
  const v = i >= 0 ? p.args[i] : undefined;
  return typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : null;
}
