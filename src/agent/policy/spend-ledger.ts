import type { Cache } from '../../cache/port';

/** Today's running totals per tenant, agent and meter (`native:<chainId>`, `method:<chainId>:<to>:<method>`). */
export interface SpendLedger {
  spent(tenant: string, agent: string, meter: string, day: string): Promise<bigint>;
  add(tenant: string, agent: string, meter: string, day: string, amount: bigint): Promise<void>;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` in UTC: daily caps reset at midnight UTC. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * A ledger in the Cache port (Redis in production, so every worker shares the totals; in memory
 * in the embedded default, where a restart forgets today's totals). Additions take a short lock
 * because the cache has no atomic add of big integers.
 */
export class CacheSpendLedger implements SpendLedger {
  constructor(private readonly cache: Cache, private readonly owner = `ledger-${process.pid}-${Math.random().toString(36).slice(2)}`) {}

  private key(tenant: string, agent: string, meter: string, day: string): string {
    return `agent:spend:${tenant}:${agent}:${day}:${meter}`;
  }

  async spent(tenant: string, agent: string, meter: string, day: string): Promise<bigint> {
    const v = await this.cache.get(this.key(tenant, agent, meter, day));
    return v ? BigInt(v) : 0n;
  }

  async add(tenant: string, agent: string, meter: string, day: string, amount: bigint): Promise<void> {
    const key = this.key(tenant, agent, meter, day);
    const lock = `${key}:lock`;
    for (let i = 0; !(await this.cache.acquireLock(lock, this.owner, 5_000)); i++) {
      if (i > 500) throw new Error(`spend ledger: lock ${lock} busy`);
      await new Promise((r) => setTimeout(r, 10));
    }
    try {
      const current = await this.spent(tenant, agent, meter, day);
      await this.cache.set(key, String(current + amount), 2 * DAY_MS);
    } finally {
      await this.cache.releaseLock(lock, this.owner);
    }
  }
}
