import { z } from 'zod';
import { ADDRESS_PATTERN } from '../../core/address';
import { TenantSchema } from '../../auth/tenant';
import { canonicalMethodKey } from './method-key';
import { canNameATool, NAMES_NO_TOOL } from './tool-pattern';

/**
 * A list refinement: an issue on each item whose `keyOf` repeats an earlier item's, `say` given
 * the item and the index of the first one (list entries where only the first of a kind would apply).
 */
function noRepeats<T>(keyOf: (item: T) => string, say: (item: T, first: number) => string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const firstOf = new Map<string, number>();
    items.forEach((item, i) => {
      const first = firstOf.get(keyOf(item));
      if (first === undefined) firstOf.set(keyOf(item), i);
      else ctx.addIssue({ code: 'custom', path: [i], message: say(item, first) });
    });
  };
}

const decimal = z
  .union([z.string(), z.number()])
  // A bare YAML/JSON number past 2^53 was rounded by the parser: the limit would not be the one written.
  .refine((v) => typeof v !== 'number' || Math.abs(v) <= Number.MAX_SAFE_INTEGER, {
    message: 'this number is too large to be read exactly (above 2^53): write it as a decimal string ("1000000000000000000")',
    abort: true,
  })
  .transform((v) => String(v))
  .refine((v) => /^\d{1,78}$/.test(v), 'a non-negative integer (decimal string)');

/**
 * Limits on one contract method. `amountArg` is the argument that moves value: its 0-based
 * position (1 in transfer(to, amount)) or its parameter name in the ABI (`amount`).
 */
export const MethodRuleSchema = z.strictObject({
  amountArg: z.union([z.number().int().min(0).max(31), z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'a parameter name')]).optional(),
  maxAmount: decimal.optional(),
  dailyCap: decimal.optional(),
  approvalAbove: decimal.optional(),
  /** Every call of this method waits for a human. */
  approvalRequired: z.boolean().optional(),
  /** Distinct approvers a held call of this method needs (default: the entry's `approvals`, else 1). */
  approvals: z.number().int().min(1).max(10).optional(),
  /** false: the task's submitter may not be one of its approvers (default: the entry's `selfApproval`, else true). */
  selfApproval: z.boolean().optional(),
})
  // Without amountArg there is no amount to compare: the limits would silently allow anything.
  .refine((r) => r.amountArg !== undefined || (r.maxAmount === undefined && r.dailyCap === undefined && r.approvalAbove === undefined), {
    path: ['amountArg'],
    message: 'required with maxAmount, dailyCap or approvalAbove (which argument is the amount?)',
  });
export type MethodRule = z.infer<typeof MethodRuleSchema>;

export const ContractRuleSchema = z.strictObject({
  chainId: z.number().int().min(1),
  address: z.string().regex(ADDRESS_PATTERN).transform((a) => a.toLowerCase()),
  name: z.string().max(200).optional(),
  /**
   * Methods that may be sent as transactions, keyed by name (`transfer`) or full signature
   * (`transfer(address,uint256)`, kept in that canonical form); an overloaded method only by
   * signature. Reads (view/pure) of an allowlisted contract are always allowed.
   */
  methods: z
    .record(z.string().min(1).max(200), MethodRuleSchema)
    .default({})
    .transform((methods, ctx) => {
      const out: Record<string, MethodRule> = {};
      for (const [key, rule] of Object.entries(methods)) {
        let k: string;
        try {
          k = canonicalMethodKey(key);
        } catch {
          ctx.addIssue({ code: 'custom', path: [key], message: 'not a function signature (expected name(type,…), e.g. transfer(address,uint256))' });
          return z.NEVER;
        }
        // Two spellings of one signature would be two rules for one function: which applies?
        if (Object.hasOwn(out, k)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `names the same function as another key (${k})` });
          return z.NEVER;
        }
        // Defined, not assigned: a key named __proto__ must stay an own key (and set no prototype).
        Object.defineProperty(out, k, { value: rule, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }),
});
export type ContractRule = z.infer<typeof ContractRuleSchema>;

/** A tool name or glob that some tool name can match (a deny that matches nothing stops nothing). */
const toolPattern = z.string().min(1).max(200).refine(canNameATool, NAMES_NO_TOOL);

export const AgentPolicySchema = z.strictObject({
  /** A tenant id, or `*`: an entry for a name no key can have (`acme corp`) would never apply, leaving the default. */
  tenant: z.union([z.literal('*'), TenantSchema], { error: 'a tenant id (letters, digits, . _ -, max 100) or "*"' }),
  /** Agent id (TaskSubmitted.agentId); `*` or omitted = every agent of the tenant. Exact: not a pattern. */
  agent: z
    .string()
    .min(1)
    .max(200)
    .refine((a) => a === '*' || !a.includes('*'), 'an exact agentId, or "*" for every agent (agents are not matched by pattern)')
    .default('*'),
  tools: z
    .strictObject({
      /** Tool names or globs (`examples__*`, `*`). */
      allow: z.array(toolPattern).default(['*']),
      deny: z.array(toolPattern).default([]),
      /** Most calls of a tool within one task, by its exact name (not a pattern). */
      budgets: z
        .record(z.string(), z.number().int().min(0))
        .default({})
        // A pattern here would budget only a tool of that literal name, leaving the tools it seems to cover unbounded.
        .superRefine((budgets, ctx) => {
          for (const k of Object.keys(budgets)) {
            if (k.includes('*')) ctx.addIssue({ code: 'custom', path: [k], message: 'a budget is per exact tool name (<server>__<tool>), not a pattern: list each tool' });
            else if (!canNameATool(k)) ctx.addIssue({ code: 'custom', path: [k], message: NAMES_NO_TOOL });
          }
        }),
    })
    .default({ allow: ['*'], deny: [], budgets: {} }),
  contracts: z
    .array(ContractRuleSchema)
    .default([])
    // Two rules for one contract: only the first would ever apply, silently.
    .superRefine(noRepeats((r) => `${r.chainId} ${r.address}`, (r, first) => `names the same contract as contracts.${first} (chain ${r.chainId}, ${r.address}): put its methods in one rule`)),
  native: z
    .strictObject({
      /** Largest value one transaction may carry (its value alone). */
      maxValueWei: decimal.optional(),
      /** Most native currency a day per chain, gas included: each transaction counts value + gas limit × max fee per gas (docs/policy.md). */
      dailyCapWei: decimal.optional(),
      /** A value above this waits for a human (its value alone). */
      approvalAboveWei: decimal.optional(),
    })
    .default({}),
  maxGasLimit: decimal.optional(),
  /** Every transaction waits for a human. */
  approvalRequired: z.boolean().default(false),
  /** Distinct approvers a held transaction needs (four-eyes: 2). A method's own `approvals` wins. */
  approvals: z.number().int().min(1).max(10).optional(),
  /** false: the task's submitter may not approve its own transactions. A method's own `selfApproval` wins. */
  selfApproval: z.boolean().optional(),
});
export type AgentPolicy = z.infer<typeof AgentPolicySchema>;
export type AgentPolicyInput = z.input<typeof AgentPolicySchema>;

export const PolicyFileSchema = z.strictObject({
  policies: z
    .array(AgentPolicySchema)
    .default([])
    // Entries are never merged and the first match wins: a second entry for the same tenant and
    // agent (say, a stricter one appended later) would be silently ignored.
    .superRefine(noRepeats((e) => JSON.stringify([e.tenant, e.agent]), (e, first) => `has the same tenant and agent as policies.${first} (${e.tenant}/${e.agent}): entries are not merged, so write one`)),
});
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/**
 * What applies when no policy entry matches: every gateway tool, no contract (deny by default),
 * no value. Explicit-step tasks on the embedded default run; nothing can spend.
 */
export const DEFAULT_POLICY: AgentPolicy = AgentPolicySchema.parse({ tenant: '*', agent: '*' });
