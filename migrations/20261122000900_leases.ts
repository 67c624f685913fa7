import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';

/**
 * Leases for single-leader roles (sealer, anchorer). `token` is the fencing token: it grows by one
 * on every new acquisition and never goes back, so a write carrying an older token is stale.
 * `expires_at` is in ms since the epoch by the database's clock (one clock for all candidates).
 */
export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'leases', (t) => {
    t.string('name', 100).primary();
    t.string('holder', 200).nullable();
    t.bigInteger('token').notNullable().defaultTo(0);
    t.bigInteger('expires_at').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('leases');
}
