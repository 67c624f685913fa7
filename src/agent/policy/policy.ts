import { z } from 'zod';

const decimal = z
  .union([z.string(), z.number().int().min(0)])
  .transform((v) => String(v))
  .refine((v) => /^\d{1,78}$/.test(v), 'a non-negative integer (decimal string)');

/** Limits on one contract method. `amountArg` is the 0-based index of the argument that moves value (e.g. 1 in transfer(to, amount)). */
export const MethodRuleSchema = z.strictObject({
  amountArg: z.number().int().min(0).max(31).optional(),
  maxAmount: decimal.optional(),
  dailyCap: decimal.optional(),
  approvalAbove: decimal.optional(),
  /** Every call of this method waits for a human. */
  approvalRequired: z.boolean().optional(),
});
export type MethodRule = z.infer<typeof MethodRuleSchema>;

export const ContractRuleSchema = z.strictObject({
  chainId: z.number().int().min(1),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/).transform((a) => a.toLowerCase()),
  name: z.string().max(200).optional(),
  /** Methods that may be sent as transactions; reads (view/pure) of an allowlisted contract are always allowed. */
  methods: z.record(z.string().min(1).max(200), MethodRuleSchema).default({}),
});
export type ContractRule = z.infer<typeof ContractRuleSchema>;

export const AgentPolicySchema = z.strictObject({
  tenant: z.string().min(1).max(100),
  /** Agent id (TaskSubmitted.agentId); `*` or omitted = every agent of the tenant. */
  agent: z.string().min(1).max(200).default('*'),
  tools: z
    .strictObject({
      /** Tool names or globs (`examples__*`, `*`). */
      allow: z.array(z.string().min(1).max(200)).default(['*']),
      deny: z.array(z.string().min(1).max(200)).default([]),
      /** Most calls of a tool within one task. */
      budgets: z.record(z.string(), z.number().int().min(0)).default({}),
    })
    .default({ allow: ['*'], deny: [], budgets: {} }),
  contracts: z.array(ContractRuleSchema).default([]),
  native: z
    .strictObject({
      maxValueWei: decimal.optional(),
      dailyCapWei: decimal.optional(),
      approvalAboveWei: decimal.optional(),
    })
    .default({}),
  maxGasLimit: decimal.optional(),
  /** Every transaction waits for a human. */
  approvalRequired: z.boolean().default(false),
});
export type AgentPolicy = z.infer<typeof AgentPolicySchema>;
export type AgentPolicyInput = z.input<typeof AgentPolicySchema>;

export const PolicyFileSchema = z.strictObject({ policies: z.array(AgentPolicySchema).default([]) });
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/**
 * What applies when no policy entry matches: every gateway tool, no contract (deny by default),
 * no value. Explicit-step tasks on the embedded default run; nothing can spend.
 */
export const DEFAULT_POLICY: AgentPolicy = AgentPolicySchema.parse({ tenant: '*', agent: '*' });
