import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';
import { GATEWAY_SETTINGS_TABLE } from '../src/db/gateway-settings';

/**
 * `gateway_settings`: what the last `openmcp start` that calls tools recorded of its settings for
 * the processes that run the gateway on the same database without being it (`openmcp mcp stdio`
 * checks its MCP_PAYLOAD_POLICY against it: src/db/gateway-settings.ts). Empty until then.
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(GATEWAY_SETTINGS_TABLE)) return;
  await createTable(knex, GATEWAY_SETTINGS_TABLE, (t) => {
    t.string('name', 64).primary();
    t.string('value', 255).notNullable();
    t.string('recorded_at', 24).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(GATEWAY_SETTINGS_TABLE);
}
