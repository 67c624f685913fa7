import { AgentError } from '../errors';
import type { SpendLedger } from '../policy/spend-ledger';
import { utcDay } from '../policy/spend-ledger';

export type TokenBudgetOptions = {
  /** Most tokens (prompt + completion, provider calls only) one task may use. */
  perTask?: number;
  /** Most tokens one tenant may use per UTC day, across workers sharing the ledger's cache. */
  perTenantDay?: number;
};

const METER = 'llm-tokens';

/**
 * Token accounting: the task's total comes from its own InferenceCompleted events (so it
 * survives restarts exactly); the tenant's daily total lives in the spend ledger.
 * A call is refused once a budget is used up; the call that crosses it is allowed to finish.
 */
export class TokenBudget {
  constructor(private readonly ledger: SpendLedger, private readonly options: TokenBudgetOptions) {}

  async check(tenant: string, taskTokens: number, now: Date): Promise<void> {
    const { perTask, perTenantDay } = this.options;
    if (perTask !== undefined && taskTokens >= perTask) {
      throw new AgentError('LLM_BUDGET_EXCEEDED', `task used ${taskTokens} tokens, budget LLM_TOKEN_BUDGET_PER_TASK=${perTask}`, { details: { budget: 'task', used: taskTokens, limit: perTask } });
    }
    if (perTenantDay !== undefined) {
      const used = Number(await this.ledger.spent(tenant, '*', METER, utcDay(now)));
      if (used >= perTenantDay) {
        throw new AgentError('LLM_BUDGET_EXCEEDED', `tenant ${tenant} used ${used} tokens today, budget LLM_TOKEN_BUDGET_PER_TENANT_DAY=${perTenantDay}`, {
          details: { budget: 'tenant-day', used, limit: perTenantDay },
        });
      }
    }
  }

  async record(tenant: string, tokens: number, now: Date): Promise<void> {
    if (tokens > 0) await this.ledger.add(tenant, '*', METER, utcDay(now), BigInt(tokens));
  }

  async tenantUsedToday(tenant: string, now: Date): Promise<number> {
    return Number(await this.ledger.spent(tenant, '*', METER, utcDay(now)));
  }
}
