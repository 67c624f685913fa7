import type { Knex } from 'knex';
import { indexesByColumns } from '../src/db/index-names';
import { LIVE_TABLES } from '../projections/tables';
import { AUDIT_TENANT_TYPE_INDEX } from '../src/readmodels/schema';

/**
 * `rm_audit_events` gets (tenant, type, position), behind `GET /v1/events?type=` for one tenant:
 * without it the list read the tenant's events from its first page's position on and skipped
 * the other types. On MySQL/MariaDB InnoDB builds it in place while events keep being projected;
 * a large audit log takes a while on the first start after the upgrade. A database created after
 * this change has it from src/readmodels/schema.ts already.
 */
export async function up(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.auditEvents;
  if (!(await indexesByColumns(knex, table)).has(AUDIT_TENANT_TYPE_INDEX.join(','))) {
    await knex.schema.alterTable(table, (t) => t.index([...AUDIT_TENANT_TYPE_INDEX]));
  }
}

export async function down(knex: Knex): Promise<void> {
  const table = LIVE_TABLES.auditEvents;
  // By its own name: knex's default name is not that of an index a rebuild created.
  const name = (await indexesByColumns(knex, table)).get(AUDIT_TENANT_TYPE_INDEX.join(','));
  if (name !== undefined) await knex.schema.alterTable(table, (t) => t.dropIndex([...AUDIT_TENANT_TYPE_INDEX], name));
}
