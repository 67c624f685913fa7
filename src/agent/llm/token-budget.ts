import type { Cache } from '../../cache/port';
import { MemoryCache } from '../../cache/memory';
import { withLock } from '../../cache/with-lock';
import { newId } from '../../core/ids';
import { AgentError } from '../errors';
import type { SpendLedger } from '../policy/spend-ledger';
import { utcDay } from '../policy/spend-ledger';
import type { CompletionRequest } from './port';

export type TokenBudgetOptions = {
  /** Most tokens (prompt + completion, provider calls only) one task may use. */
  perTask?: number;
  /** Most tokens one tenant may use per UTC day, across workers sharing the ledger's cache. */
  perTenantDay?: number;
};

/**
 * One admitted model call: book what it used (0 for a cached answer or a call that failed), which
 * frees its reservation; `key` (the turn's event id) books it at most once (TokenBudget.record).
 */
export type TokenReservation = { settle(tokens: number, now: Date, key?: string): Promise<void> };

export type ReserveParameters = {
  tenant: string;
  /** Tokens the task has used so far (from its InferenceCompleted events). */
  taskTokens: number;
  /** Most tokens the call can use: `estimateTokens(request)`. */
  estimate: number;
  now(): Date;
  /** How long the reservation lives if its holder never settles it (it crashed): the call's timeout and a margin. Also the longest wait for room. */
  ttlMs: number;
  signal?: AbortSignal;
};

const METER = 'llm-tokens';
const DAY_MS = 86_400_000;

type Reservations = Record<string, { tokens: number; until: number }>;

/**
 * Most tokens a call can use: one per byte of its messages and tools (byte-level BPE tokenizers
 * never make more tokens than bytes; the JSON's quotes and keys outweigh the chat template's
 * markers) plus `maxTokens`, where the server stops the answer.
 */
export function estimateTokens(req: Pick<CompletionRequest, 'messages' | 'tools' | 'maxTokens'>): number {
  return Buffer.byteLength(JSON.stringify(req.messages)) + Buffer.byteLength(JSON.stringify(req.tools)) + req.maxTokens;
}

/**
 * Token accounting: the task's total comes from its own InferenceCompleted events (so it
 * survives restarts exactly); the tenant's daily total lives in the spend ledger.
 *
 * Guarantee (docs/agent.md): a task passes LLM_TOKEN_BUDGET_PER_TASK by at most its last call
 * (its calls are sequential); a tenant passes LLM_TOKEN_BUDGET_PER_TENANT_DAY by at most the part
 * of one call that crosses it, whatever the number of tasks and workers, as long as each call
 * uses no more than its estimate. For that, `reserve` admits a call under a lock (the cache's:
 * Redis across workers) only when the day's total plus the calls in flight plus its estimate fit
 * the budget, or when nothing else is in flight (that call may cross it; the next ones fail).
 */
export class TokenBudget {
  private readonly owner = `budget-${process.pid}-${newId()}`;
  private seq = 0;

  constructor(
    private readonly ledger: SpendLedger,
    private readonly options: TokenBudgetOptions,
    /** Where reservations of calls in flight live: the runtime's cache (Redis in production, shared by workers). */
    private readonly cache: Cache = new MemoryCache(),
  ) {}

  /**
   * Book `tokens` in the tenant's total of the UTC day of `now`. With `key` (the id of the turn's
   * InferenceCompleted), at most once: a booking retried after a failure that may have written it
   * (an outage, its answer lost) counts once.
   */
  async record(tenant: string, tokens: number, now: Date, key?: string): Promise<void> {
    if (tokens > 0) await this.ledger.add(tenant, '*', METER, utcDay(now), BigInt(tokens), key);
  }

  async tenantUsedToday(tenant: string, now: Date): Promise<number> {
    return Number(await this.ledger.spent(tenant, '*', METER, utcDay(now)));
  }

  /**
   * Check the budgets and reserve `estimate` tokens of the tenant's day for one call, waiting
   * (up to `ttlMs`) while calls in flight hold the rest of the budget. Throws LLM_BUDGET_EXCEEDED
   * when a budget is used up, or when no room came in time. Settle the reservation however the call ends.
   */
  async reserve(p: ReserveParameters): Promise<TokenReservation> {
    this.checkTask(p.taskTokens);
    const limit = this.options.perTenantDay;
    if (limit === undefined) return { settle: (tokens, now, key) => this.record(p.tenant, tokens, now, key) };
    const day = utcDay(p.now());
    const key = `llm:budget:${p.tenant}:${day}:reserved`;
    const id = `${this.owner}:${++this.seq}`;
    const giveUp = Date.now() + p.ttlMs;
    for (;;) {
      const admitted = await this.locked(key, async (reserved) => {
        const used = Number(await this.ledger.spent(p.tenant, '*', METER, day));
        this.checkTenant(p.tenant, used);
        const inFlight = Object.values(reserved).reduce((n, r) => n + r.tokens, 0);
        if (inFlight > 0 && used + inFlight + p.estimate > limit) return false;
        reserved[id] = { tokens: p.estimate, until: Date.now() + p.ttlMs };
        return true;
      });
      if (admitted) break;
      if (p.signal?.aborted) throw p.signal.reason ?? new Error('aborted');
      if (Date.now() > giveUp) {
        throw new AgentError('LLM_BUDGET_EXCEEDED', `tenant ${p.tenant}: the rest of LLM_TOKEN_BUDGET_PER_TENANT_DAY=${limit} stayed reserved by model calls in flight for ${p.ttlMs} ms`, {
          details: { budget: 'tenant-day', limit },
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      // Booked first, then freed: in between the tokens count twice (too much, never too little).
      // If booking fails the reservation stays until it expires, holding room for the tokens until
      // they are booked (by a later run: InferenceCompleted v6). Freeing is best effort: once the
      // call is booked, a cache error here must not fail the task and lose the record of a paid
      // turn; a reservation not freed only holds its room until it expires (ttlMs).
      settle: async (tokens, now, once) => {
        await this.record(p.tenant, tokens, now, once);
        await this.locked(key, async (reserved) => void delete reserved[id]).catch(() => {});
      },
    };
  }

  private checkTask(taskTokens: number): void {
    const { perTask } = this.options;
    if (perTask !== undefined && taskTokens >= perTask) {
      throw new AgentError('LLM_BUDGET_EXCEEDED', `task used ${taskTokens} tokens, budget LLM_TOKEN_BUDGET_PER_TASK=${perTask}`, { details: { budget: 'task', used: taskTokens, limit: perTask } });
    }
  }

  private checkTenant(tenant: string, used: number): void {
    const limit = this.options.perTenantDay!;
    if (used >= limit) {
      throw new AgentError('LLM_BUDGET_EXCEEDED', `tenant ${tenant} used ${used} tokens today, budget LLM_TOKEN_BUDGET_PER_TENANT_DAY=${limit}`, {
        details: { budget: 'tenant-day', used, limit },
      });
    }
  }

  /** Read, change and write the live reservations of `key` under its lock (expired ones, of holders that died, dropped). */
  private async locked<T>(key: string, fn: (reserved: Reservations) => Promise<T>): Promise<T> {
    const holder = `${this.owner}:lock:${++this.seq}`;
    const busy = () => new AgentError('LLM_BUDGET_EXCEEDED', `token budget lock ${key} stayed busy`);
    return withLock(this.cache, `${key}:lock`, holder, { ttlMs: 10_000, pollMs: 10, waitMs: 10_000, busy }, async () => {
      const now = Date.now();
      const stored = JSON.parse((await this.cache.get(key)) ?? '{}') as Reservations;
      const reserved: Reservations = Object.fromEntries(Object.entries(stored).filter(([, r]) => r.until > now));
      const out = await fn(reserved);
      await this.cache.set(key, JSON.stringify(reserved), 2 * DAY_MS);
      return out;
    });
  }
}
