import type { Knex } from 'knex';
import type { Cache } from '../../cache/port';
import { withLock } from '../../cache/with-lock';
import { ValidationError } from '../../core/errors';
import { sqlOutage } from '../../db/connection-failure';
import { dialectOf } from '../../db/knex';

/** Today's running totals per tenant, agent and meter (`native:<chainId>`, `method:<chainId>:<to>:<method>`). */
export interface SpendLedger {
  spent(tenant: string, agent: string, meter: string, day: string): Promise<bigint>;
  /**
   * Add `amount` to the day's total. With `key` (e.g. the id of the event that records what was
   * spent), at most once per tenant and key, whatever the day: a repeat changes nothing, so a
   * booking whose answer was lost (it may or may not have been written) can be made again.
   */
  add(tenant: string, agent: string, meter: string, day: string, amount: bigint, key?: string): Promise<void>;
  /**
   * Take back `amount` added on `day` (never below 0): only for a spend that certainly did not
   * happen, e.g. a transaction the node refused.
   */
  release(tenant: string, agent: string, meter: string, day: string, amount: bigint): Promise<void>;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` in UTC: daily caps reset at midnight UTC. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * A ledger in the Cache port (totals last as long as the cache keeps them: for tests and embedding;
 * the gateway itself uses SqlSpendLedger). Additions take a short lock because the cache has no
 * atomic add of big integers.
 */
export class CacheSpendLedger implements SpendLedger {
  private additions = 0;
  constructor(private readonly cache: Cache, private readonly owner = `ledger-${process.pid}-${Math.random().toString(36).slice(2)}`) {}

  private key(tenant: string, agent: string, meter: string, day: string): string {
    return `agent:spend:${tenant}:${agent}:${day}:${meter}`;
  }

  async spent(tenant: string, agent: string, meter: string, day: string): Promise<bigint> {
    const v = await this.cache.get(this.key(tenant, agent, meter, day));
    return v ? BigInt(v) : 0n;
  }

  async add(tenant: string, agent: string, meter: string, day: string, amount: bigint, key?: string): Promise<void> {
    assertAmount(amount);
    await this.change(tenant, agent, meter, day, amount, key);
  }

  async release(tenant: string, agent: string, meter: string, day: string, amount: bigint): Promise<void> {
    assertAmount(amount);
    await this.change(tenant, agent, meter, day, -amount);
  }

  private async change(tenant: string, agent: string, meter: string, day: string, delta: bigint, once?: string): Promise<void> {
    const key = this.key(tenant, agent, meter, day);
    const lock = `${key}:lock`;
    // One holder per addition: a lock re-acquired by the same holder would let two additions of
    // this process interleave and lose one.
    const holder = `${this.owner}:${++this.additions}`;
    const booked = once === undefined ? undefined : `agent:spend:booked:${tenant}:${once}`;
    const locked = (name: string, fn: () => Promise<void>) =>
      withLock(this.cache, name, holder, { ttlMs: 5_000, pollMs: 10, waitMs: 5_000, busy: () => new Error(`spend ledger: lock ${name} busy`) }, fn);
    const addToTotal = () =>
      locked(lock, async () => {
        // Not atomic with the total (the cache has no transactions): a failure between the two
        // writes adds it again on a retry, too much rather than too little. The SQL ledger writes
        // both in one transaction.
        if (booked && (await this.cache.get(booked)) !== undefined) return;
        const current = await this.spent(tenant, agent, meter, day);
        await this.cache.set(key, String(atLeastZero(current + delta)), 2 * DAY_MS);
        if (booked) await this.cache.set(booked, day, 2 * DAY_MS);
      });
    // A keyed addition holds its key's own lock too, taken first: the key is the tenant's whatever
    // the day, and repeats on other days take other totals' locks, so under those alone two could
    // both find the key unbooked. Always key, then total: no two additions wait on each other in turn.
    await (booked ? locked(`${booked}:lock`, addToTotal) : addToTotal());
  }
}

function atLeastZero(v: bigint): bigint {
  return v < 0n ? 0n : v;
}

function assertAmount(amount: bigint): void {
  if (typeof amount !== 'bigint' || amount < 0n) throw new ValidationError(`spend ledger: amount must be a non-negative bigint, got ${String(amount)}`, { field: 'amount' });
}

/**
 * A ledger in the SQL database (`agent_spend`): totals survive restarts and a lost cache, are in
 * the database's backups, and workers sharing a MySQL database share them. An addition reads and writes its row in one
 * transaction, the row locked (FOR UPDATE) on MySQL; SQLite serializes writers itself. A keyed
 * addition writes its key in `agent_spend_keys` in that transaction too (one row per key: for the
 * agent runtime, one per model turn that used tokens).
 */
export class SqlSpendLedger implements SpendLedger {
  constructor(private readonly knex: Knex) {}

  /** A database unreachable a moment is DEPENDENCY_UNAVAILABLE (sqlOutage): an agent run stops and is tried again, rather than fail its task. */
  private fail(op: string): (err: unknown) => never {
    return (err) => {
      throw sqlOutage(err, `spend ledger (${dialectOf(this.knex)})`, op);
    };
  }

  async spent(tenant: string, agent: string, meter: string, day: string): Promise<bigint> {
    const row = await this.knex('agent_spend').where({ tenant, agent, meter, day }).first('amount').catch(this.fail('spent'));
    return row ? BigInt(row.amount as string) : 0n;
  }

  async add(tenant: string, agent: string, meter: string, day: string, amount: bigint, key?: string): Promise<void> {
    assertAmount(amount);
    await this.change({ tenant, agent, meter, day }, amount, key).catch(this.fail('add'));
  }

  async release(tenant: string, agent: string, meter: string, day: string, amount: bigint): Promise<void> {
    assertAmount(amount);
    await this.change({ tenant, agent, meter, day }, -amount).catch(this.fail('release'));
  }

  private async change(key: { tenant: string; agent: string; meter: string; day: string }, delta: bigint, once?: string): Promise<void> {
    // The row exists before it is locked: locking a missing row would take a gap lock on MySQL,
    // and two first additions would deadlock on it.
    await this.knex('agent_spend').insert({ ...key, amount: '0' }).onConflict(['tenant', 'agent', 'meter', 'day']).ignore();
    await this.knex.transaction(async (trx) => {
      // The key first, in the same transaction as the total: both are written or neither. A second
      // addition with the same key waits for the first's row (MySQL) and then finds it: nothing more.
      if (once !== undefined) {
        const fresh = await trx('agent_spend_keys')
          .insert({ tenant: key.tenant, entry: once, day: key.day })
          .then(() => true, (err: unknown) => (isDuplicateKey(err) ? false : Promise.reject(err)));
        if (!fresh) return;
      }
      const q = trx('agent_spend').where(key).first('amount');
      const row = dialectOf(this.knex) === 'mysql' ? await q.forUpdate() : await q;
      await trx('agent_spend').where(key).update({ amount: String(atLeastZero(BigInt(row.amount as string) + delta)) });
    });
  }
}

/** A unique key already taken (MySQL/MariaDB ER_DUP_ENTRY, SQLite's primary key constraint). */
function isDuplicateKey(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
