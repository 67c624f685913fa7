import type { Knex } from 'knex';
import { retryOnContention } from '../db/contention';
import { dialectOf } from '../db/knex';
import { LeaseFencedError } from './errors';
import type { LeaseStore } from './lease-store';

/** Now in ms by the database's clock, so candidates on different machines agree on expiry. */
function dbNowMs(knex: Knex): string {
  return dialectOf(knex) === 'sqlite'
    ? `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
    : 'CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)';
}

/**
 * Leases in the `leases` table (migration 20261122000900_leases). Works on MySQL/MariaDB and SQLite.
 * @example const leases = new SqlLeaseStore(knex); const token = await leases.acquire('sealer', me, 10_000)
 */
export class SqlLeaseStore implements LeaseStore {
  readonly name = 'sql';
  private readonly now: string;

  constructor(private readonly knex: Knex) {
    this.now = dbNowMs(knex);
  }

  /**
   * Take or renew `lease`. A lost lock race with another connection (SQLite busy, a MySQL
   * deadlock) is retried for up to a third of the TTL, so a renewal is not missed over it.
   */
  async acquire(lease: string, holder: string, ttlMs: number): Promise<number | undefined> {
    return retryOnContention(() => this.tryAcquire(lease, holder, ttlMs), { deadlineMs: Math.min(5_000, ttlMs / 3), firstDelayMs: 5, maxDelayMs: 100 });
  }

  private async tryAcquire(lease: string, holder: string, ttlMs: number): Promise<number | undefined> {
    const k = this.knex;
    // The row is made on its own, outside the transaction: inside it, InnoDB would give this
    // insert a shared lock on an existing row, and two candidates each holding one would then
    // deadlock upgrading to the UPDATE's exclusive lock (a leader renewing while a standby polls).
    await k('leases').insert({ name: lease, holder: null, token: 0, expires_at: 0 }).onConflict('name').ignore();
    return k.transaction(async (trx) => {
      // `token` is assigned first: MySQL evaluates SET left to right, and the CASE must see the
      // old holder and expiry (SQLite always does). A live lease of ours is a renewal: same token.
      await trx('leases')
        .where('name', lease)
        .andWhere((q) => q.where('holder', holder).orWhereNull('holder').orWhere('expires_at', '<=', k.raw(this.now)))
        .update({
          token: k.raw(`CASE WHEN holder = ? AND expires_at > ${this.now} THEN token ELSE token + 1 END`, [holder]),
          holder,
          expires_at: k.raw(`${this.now} + ?`, [Math.ceil(ttlMs)]),
        });
      const row = await trx('leases').where('name', lease).first('holder', 'token');
      return row?.holder === holder ? Number(row.token) : undefined;
    });
  }

  async release(lease: string, holder: string): Promise<void> {
    await this.knex('leases').where({ name: lease, holder }).update({ holder: null, expires_at: 0 });
  }

  async currentToken(lease: string): Promise<number> {
    const row = await this.knex('leases').where('name', lease).first('token');
    return row ? Number(row.token) : 0;
  }

  /**
   * Run `write` in a transaction that first checks `token` is still the newest for `lease`, and
   * commit both together; throws LeaseFencedError (and writes nothing) when it is not.
   * On MySQL the lease row stays locked (FOR UPDATE) until commit, so a standby cannot take the
   * lease between the check and the write; SQLite has a single writer, which gives the same.
   * @example await leases.fenced('sealer', token, (trx) => trx('batches').insert(row))
   */
  async fenced<T>(lease: string, token: number, write: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.knex.transaction(async (trx) => {
      const q = trx('leases').where('name', lease).first('token');
      const row = await (dialectOf(this.knex) === 'mysql' ? q.forUpdate() : q);
      const current = row ? Number(row.token) : 0;
      if (current !== token) throw new LeaseFencedError(lease, token, current);
      return write(trx);
    });
  }
}
