import type { Knex } from 'knex';
import { retryOnContention } from '../db/contention';
import { dialectOf } from '../db/knex';
import { IndexHints } from '../db/index-names';
import { reportSqlOutages } from '../db/report-sql-outages';
import type { Hex } from '../core/hex';
import { IdempotencyKeyTakenError, type ApiKeyRecord, type IdempotentKey, type InsertOptions, type InsertUnderLimitParameters, type InsertUnderLimitReturnType, type KeyStore, type ListKeysParameters, type UnissuedKeysParameters } from './key-store';
import type { Role } from './roles';

type Row = {
  id: string;
  tenant: string;
  role: string;
  name: string | null;
  cross_tenant: number | boolean;
  /** JSON array of agent ids (migration 20261206000100); null = any agent. */
  agents_json: string | null;
  /** The key stream's revision agents_json reflects, once changed after creation (migration 20261208000100); written by setAgents only. */
  agents_revision?: number | null;
  prefix: string;
  key_hash: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  /** Being issued, or let go unissued (migration 20261211004500): never found, listed or authenticated. */
  issuing?: number | boolean;
  /** SHA-256 digests of the Idempotency-Key the key was issued under and of its request (migration 20261211013700); null once let go unissued. */
  idempotency_key?: string | null;
  idempotency_request?: string | null;
};

/** Another row holds the idempotency key (its unique index): MySQL/MariaDB ER_DUP_ENTRY, SQLite's unique constraint. */
function isIdempotencyKeyTaken(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return (e?.code === 'ER_DUP_ENTRY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE') && /idempotency_key/.test(e?.message ?? '');
}

/** `insert` with a taken idempotency key said so (IdempotencyKeyTakenError); other errors as they are. */
async function unlessTaken<T>(insert: Promise<T>): Promise<T> {
  try {
    return await insert;
  } catch (err) {
    throw isIdempotencyKeyTaken(err) ? new IdempotencyKeyTakenError() : err;
  }
}

function toRow(r: ApiKeyRecord, issuing = false, o: InsertOptions = {}): Row {
  return {
    ...(o.idempotency ? { idempotency_key: o.idempotency.key, idempotency_request: o.idempotency.request } : {}),
    id: r.id,
    tenant: r.tenant,
    role: r.role,
    name: r.name ?? null,
    cross_tenant: r.crossTenant,
    agents_json: r.agents ? JSON.stringify(r.agents) : null,
    prefix: r.prefix,
    key_hash: r.hash,
    created_at: r.createdAt,
    created_by: r.createdBy,
    revoked_at: r.revokedAt ?? null,
    issuing,
  };
}

function fromRow(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    role: row.role as Role,
    ...(row.name !== null ? { name: row.name } : {}),
    crossTenant: Boolean(row.cross_tenant),
    ...(row.agents_json !== null ? { agents: JSON.parse(row.agents_json) as string[] } : {}),
    prefix: row.prefix,
    hash: row.key_hash as Hex,
    createdAt: row.created_at,
    createdBy: row.created_by,
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
  };
}

/** API keys in the `api_keys` table (migrations 20261122000500, 20261206000100, 20261208000100, 20261211004500, 20261211013700), SQLite or MySQL. */
export class SqlKeyStore implements KeyStore {
  private readonly hints: IndexHints;

  constructor(private readonly knex: Knex) {
    this.hints = new IndexHints(knex);
    // Every method runs on requests (authentication, /v1/keys): an outage is a 503, not a 500.
    return reportSqlOutages(this, `api keys (${dialectOf(knex)})`);
  }

  async insert(record: ApiKeyRecord, o: InsertOptions = {}): Promise<void> {
    await unlessTaken(this.knex('api_keys').insert(toRow(record, o.issuing, o)));
  }

  /**
   * Counts the tenant's rows with a locking read in the insert's transaction. MySQL/MariaDB lock
   * the tenant's range of the (tenant, id) index and the gap after it, so another insert for the
   * tenant waits until this one commits and then counts it; two that both found the tenant empty
   * (gap locks do not exclude each other) deadlock on their inserts, and the one the server rolls
   * back is run again. Those gap locks exist only under REPEATABLE READ, so the transaction asks
   * for it: on a server whose sessions run READ COMMITTED, inserts into a tenant with no active
   * key all counted 0 and all went in. SQLite has one writer at a time (and this process one
   * connection). An idempotency key another row holds is refused by its unique index: of inserts
   * at once, the first goes in and the others, waiting on its lock, are refused once it commits.
   */
  async insertUnderLimit(record: ApiKeyRecord, p: InsertUnderLimitParameters): Promise<InsertUnderLimitReturnType> {
    const config: Knex.TransactionConfig = dialectOf(this.knex) === 'mysql' ? { isolationLevel: 'repeatable read' } : {};
    return unlessTaken(retryOnContention(() =>
      this.knex.transaction(async (trx) => {
        const q = trx('api_keys').where({ tenant: record.tenant }).whereNull('revoked_at');
        if (p.except !== undefined) q.whereNot({ id: p.except });
        const [{ n, u }] = (await q.forUpdate().select(trx.raw('COUNT(*) AS n'), trx.raw('SUM(CASE WHEN issuing THEN 1 ELSE 0 END) AS u'))) as { n: number | string; u: number | string | null }[];
        const active = Number(n);
        const issuing = Number(u ?? 0);
        if (active >= p.limit) return { inserted: false, active, issuing };
        await trx('api_keys').insert(toRow(record, p.issuing, p));
        return { inserted: true, active, issuing };
      }, config),
    ));
  }

  /**
   * Insert or replace the record with this id, in one statement (an upsert): processes starting at
   * once all put the bootstrap key. A delete-then-insert deadlocked there on MariaDB (both
   * transactions' deletes gap-lock the missing row, then both inserts wait on each other); a lost
   * lock race is retried.
   */
  async put(record: ApiKeyRecord): Promise<void> {
    await retryOnContention(() => this.knex('api_keys').insert(toRow(record)).onConflict('id').merge());
  }

  async remove(id: string): Promise<void> {
    await this.knex('api_keys').where({ id }).delete();
  }

  async issue(id: string): Promise<boolean> {
    // Conditional, as abandon's: of the two, the one that runs first wins and the other changes nothing.
    return (await this.knex('api_keys').where({ id, issuing: true }).whereNull('revoked_at').update({ issuing: false })) > 0;
  }

  async abandon(id: string, at: string): Promise<boolean> {
    return (await this.knex('api_keys').where({ id, issuing: true }).whereNull('revoked_at').update({ revoked_at: at, idempotency_key: null, idempotency_request: null })) > 0;
  }

  async findByIdempotencyKey(key: Hex): Promise<IdempotentKey | undefined> {
    // A row let go unissued gave its digest up (abandon); one an older release's sweep let go,
    // keeping it (a mixed rollout), is passed over all the same.
    const row = await this.knex<Row>('api_keys')
      .where({ idempotency_key: key })
      .andWhere((q) => q.where({ issuing: false }).orWhereNull('revoked_at'))
      .first();
    return row ? { record: fromRow(row), request: row.idempotency_request as Hex, issued: !row.issuing } : undefined;
  }

  async unissued(p: UnissuedKeysParameters): Promise<ApiKeyRecord[]> {
    const rows = await this.knex<Row>('api_keys').where({ issuing: true }).andWhere('created_at', '<=', p.createdBefore).orderBy('created_at', 'asc').orderBy('id', 'asc').limit(p.limit);
    return rows.map(fromRow);
  }

  async keepRevoked(id: string): Promise<boolean> {
    return (await this.knex('api_keys').where({ id, issuing: true }).whereNotNull('revoked_at').update({ issuing: false })) > 0;
  }

  async findByHash(hash: Hex): Promise<ApiKeyRecord | undefined> {
    const row = await this.knex<Row>('api_keys').where({ key_hash: hash, issuing: false }).first();
    return row ? fromRow(row) : undefined;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.knex<Row>('api_keys').where({ id, issuing: false }).first();
    return row ? fromRow(row) : undefined;
  }

  /** One tenant's keys are read in the order of its (tenant, id) index from the cursor on, MariaDB told so (IndexHints). */
  async list(p: ListKeysParameters): Promise<ApiKeyRecord[]> {
    const rows = await this.hints.run('api_keys', p.tenant === null ? undefined : ['tenant', 'id'], (from) => {
      const q = this.knex.from<Row>(from).where({ issuing: false }).orderBy('id', 'asc').limit(p.limit);
      if (p.tenant !== null) q.where({ tenant: p.tenant });
      if (p.afterId !== undefined) q.where('id', '>', p.afterId);
      return q;
    });
    return (rows as Row[]).map(fromRow);
  }

  async setAgents(id: string, agents: string[] | undefined, revision: number): Promise<boolean> {
    // One conditional UPDATE: of two changes written at once, the newer revision wins whatever the order.
    const n = await this.knex('api_keys')
      .where({ id })
      .andWhere((q) => q.whereNull('agents_revision').orWhere('agents_revision', '<', revision))
      .update({ agents_json: agents ? JSON.stringify(agents) : null, agents_revision: revision });
    return n > 0;
  }

  async narrowAgents(id: string, agents: string[]): Promise<boolean> {
    // Read and write under the row's lock (SQLite: the write transaction), so a change written
    // meanwhile is narrowed too, never replaced by an older, wider list.
    return this.knex.transaction(async (trx) => {
      const row = await trx<Row>('api_keys').where({ id }).forUpdate().first('agents_json');
      if (!row) return false;
      const had = row.agents_json === null ? undefined : (JSON.parse(row.agents_json) as string[]);
      const next = had ? had.filter((a) => agents.includes(a)) : agents;
      await trx('api_keys').where({ id }).update({ agents_json: JSON.stringify(next) });
      return true;
    });
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const n = await this.knex('api_keys').where({ id, issuing: false }).whereNull('revoked_at').update({ revoked_at: at });
    return n > 0;
  }
}
