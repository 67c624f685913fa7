import type { Knex } from 'knex';
import { ConfigError } from '../core/errors';
import { retryOnContention } from './contention';

/** Settings a gateway records for the processes that run it on the same database (migrations/20261211110000_gateway_settings.ts). */
export const GATEWAY_SETTINGS_TABLE = 'gateway_settings';

/** MCP_PAYLOAD_POLICY's values (src/config.ts). */
type PayloadPolicy = 'store' | 'hash-only' | 'encrypted';
const POLICIES: readonly PayloadPolicy[] = ['store', 'hash-only', 'encrypted'];

/**
 * Record the MCP_PAYLOAD_POLICY this process's gateway runs under (`openmcp start` in a process
 * that calls tools): the last one started counts, as a restart under another policy changes what
 * is recorded from then on.
 */
export async function recordPayloadPolicy(knex: Knex, policy: PayloadPolicy): Promise<void> {
  const row = { name: 'MCP_PAYLOAD_POLICY', value: policy, recorded_at: new Date().toISOString() };
  await retryOnContention(() => knex(GATEWAY_SETTINGS_TABLE).insert(row).onConflict('name').merge());
}

/** The MCP_PAYLOAD_POLICY the last gateway started on this database runs under; undefined if none recorded one. */
export async function recordedPayloadPolicy(knex: Knex): Promise<PayloadPolicy | undefined> {
  const row = (await knex(GATEWAY_SETTINGS_TABLE).where({ name: 'MCP_PAYLOAD_POLICY' }).first('value')) as { value: string } | undefined;
  return row && (POLICIES as readonly string[]).includes(row.value) ? (row.value as PayloadPolicy) : undefined;
}

/**
 * Refuses (CONFIG_INVALID naming MCP_PAYLOAD_POLICY) a process that would record tool calls on
 * this database under another payload policy than its gateway's: `openmcp mcp stdio` reads its own
 * settings, and a host given only the key and DATA_DIR ran it under `store`, recording in clear
 * what the gateway keeps by hash or encrypted. Nothing recorded (no gateway started here yet): not refused.
 * @example await refuseOtherPayloadPolicy(knex, loadConfig({})) // throws where a hash-only gateway recorded its policy
 */
export async function refuseOtherPayloadPolicy(knex: Knex, config: { MCP_PAYLOAD_POLICY: PayloadPolicy }): Promise<void> {
  const recorded = await recordedPayloadPolicy(knex);
  if (!recorded || recorded === config.MCP_PAYLOAD_POLICY) return;
  throw new ConfigError(
    `Invalid configuration: MCP_PAYLOAD_POLICY=${config.MCP_PAYLOAD_POLICY} here, but the gateway on this database runs under MCP_PAYLOAD_POLICY=${recorded} (as its last openmcp start recorded): ` +
      `this command would record its tool calls otherwise than the gateway does; give it the gateway's settings (OPENMCP_CONFIG naming the gateway's file, or MCP_PAYLOAD_POLICY=${recorded} in the MCP host's env)`,
    { variable: 'MCP_PAYLOAD_POLICY', expected: recorded, got: config.MCP_PAYLOAD_POLICY },
  );
}
