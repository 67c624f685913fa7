import type { Knex } from 'knex';
import { IndexHints } from '../db/index-names';
import { LIVE_TABLES, type ReadModelTables } from '../../projections/tables';
import { fillAuditSlice } from './audit-actors';
import { SLICE_ROWS, type SizedRow } from './audit-slices';
import { AUDIT_TENANT_ACTOR_INDEX, AUDIT_TENANT_INDEX } from './schema';

type Tables = Pick<ReadModelTables, 'auditEvents' | 'subjectEvents'>;

/**
 * Each tenant of the audit log once, in order, each one seek along its (tenant, position) index:
 * neither server skips through an index's leading column on its own (MariaDB has no skip scan),
 * so a query on `actor IS NULL` alone would read the whole table.
 */
async function* auditTenants(knex: Knex, hints: IndexHints, table: string): AsyncGenerator<string> {
  for (let after: string | undefined; ; ) {
    const row: { tenant: string } | undefined = await hints.run(table, AUDIT_TENANT_INDEX, (from) => {
      const q = knex.from(from).select('tenant').orderBy('tenant').limit(1);
      return (after === undefined ? q : q.where('tenant', '>', after)).first();
    });
    if (!row) return;
    yield (after = row.tenant);
  }
}

/** Tenants counted per query: an IN list the (tenant, actor, position) index answers with a seek per tenant, in one round trip. */
const TENANTS_PER_COUNT = 500;

/**
 * How many audit rows lack their actor, by tenant (only the tenants that have some): events a
 * projector of a release before the subject index applied (a rolling upgrade, a rollback), which
 * have neither their actor nor their subject index rows, so a subject's export misses them. The
 * tenants listed a seek each (auditTenants), then counted along the (tenant, actor, position)
 * index TENANTS_PER_COUNT at a time: with none to fill, a round trip per tenant and one per 500.
 * @example await unindexedByTenant(knex) // Map { 'acme' => 3 }
 */
export async function unindexedByTenant(knex: Knex, tables: Tables = LIVE_TABLES): Promise<Map<string, number>> {
  const hints = new IndexHints(knex);
  const found = new Map<string, number>();
  const count = async (tenants: string[]) => {
    const rows: { tenant: string; n: number | string }[] = await hints.run(tables.auditEvents, AUDIT_TENANT_ACTOR_INDEX, (from) =>
      knex.from(from).select('tenant').count({ n: '*' }).whereIn('tenant', tenants).whereNull('actor').groupBy('tenant'),
    );
    for (const r of rows) if (Number(r.n) > 0) found.set(r.tenant, Number(r.n));
  };
  let batch: string[] = [];
  for await (const tenant of auditTenants(knex, hints, tables.auditEvents)) {
    batch.push(tenant);
    if (batch.length === TENANTS_PER_COUNT) await count(batch.splice(0));
  }
  if (batch.length) await count(batch);
  return found;
}

/**
 * How many audit rows lack their actor (unindexedByTenant), in all tenants: cheap when there are none.
 * @example await unindexedEvents(knex) // 0
 */
export async function unindexedEvents(knex: Knex, tables: Tables = LIVE_TABLES): Promise<number> {
  let n = 0;
  for (const count of (await unindexedByTenant(knex, tables)).values()) n += count;
  return n;
}

/**
 * The position of `tenant`'s first audit row without its actor (unindexedByTenant: applied by an
 * older release's projector, not filled yet), undefined when it has none: one seek along the
 * (tenant, actor, position) index. A subject's export ends its pages before it (listSubjectEvents).
 * @example await firstUnindexedPosition(knex, 'acme') // 41
 */
export async function firstUnindexedPosition(knex: Knex, tenant: string, tables: Tables = LIVE_TABLES, hints = new IndexHints(knex)): Promise<number | undefined> {
  const row: { p: number | string | null } | undefined = await hints.run(tables.auditEvents, AUDIT_TENANT_ACTOR_INDEX, (from) =>
    knex.from(from).where('tenant', tenant).whereNull('actor').min({ p: 'position' }).first(),
  );
  return row?.p === null || row?.p === undefined ? undefined : Number(row.p);
}

export type RepairSubjectIndexOptions = {
  tables?: Tables;
  /** Asked between slices: true ends the run there (the next goes on from what is still empty). */
  stopped?: () => boolean;
  /** Only these tenants' (those unindexedByTenant found); else every tenant's, a seek each. */
  tenants?: Iterable<string>;
  /** After each slice committed: how many rows the run has filled so far. */
  onProgress?: (filled: number) => void;
};

/**
 * Fill what an older release's projector left out (unindexedEvents): each such row's subject
 * index rows, then its actor (fillAuditSlice), found along the (tenant, actor, position) index a
 * tenant at a time, a slice of at most SLICE_ROWS rows and MAX_PAGE_CHARS characters of bodies each,
 * each committed on its own: a run stopped (`stopped()` is asked between slices) goes on where it
 * stopped at the next. Safe beside projectors and other runs of it: every write is one they would
 * make (index rows inserted once by their key, the actor its body gives), and a rebuild of the
 * index fills its new table from the log itself.
 * @example await repairSubjectIndex(knex) // 42 rows filled
 */
export async function repairSubjectIndex(knex: Knex, o: RepairSubjectIndexOptions = {}): Promise<number> {
  const tables = o.tables ?? LIVE_TABLES;
  const stopped = o.stopped ?? (() => false);
  const hints = new IndexHints(knex);
  let filled = 0;
  for await (const tenant of o.tenants ?? auditTenants(knex, hints, tables.auditEvents)) {
    for (let after = -1; !stopped(); ) {
      const sized: SizedRow[] = await hints.run(tables.auditEvents, AUDIT_TENANT_ACTOR_INDEX, (from) =>
        knex.from(from).select('position', knex.raw('LENGTH(body) AS size')).where('tenant', tenant).whereNull('actor').where('position', '>', after).orderBy('position').limit(SLICE_ROWS),
      );
      if (!sized.length) break;
      const slice = await fillAuditSlice(knex, tables.auditEvents, sized, tables.subjectEvents);
      filled += slice.filled;
      after = slice.last;
      o.onProgress?.(filled);
    }
    if (stopped()) break;
  }
  return filled;
}
