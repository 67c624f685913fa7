import { cliTable } from './table';
import type { Role } from '../auth/roles';
import { UsageError } from './usage-error';
import type { OpenMcpClient } from '../sdk/client';
import { reportCliError, stdout, type Writer } from './tasks';
import { ConflictApiError } from '../sdk';
import { newId } from '../core/ids';

export type KeysCreateOptions = { role: Role; tenant: string; name?: string; crossTenant?: boolean; agents?: string[] };

/**
 * `openmcp keys create --role R --tenant T [--name N] [--agent A]…`: prints the key once (it is stored only as
 * a hash; it cannot be shown again). Needs an admin key (OPENMCP_API_KEY or the bootstrap key).
 * Each run sends an Idempotency-Key of its own, so the SDK retries an attempt whose answer was lost
 * (503, a dropped connection) without issuing a second key; when the lost attempt had issued one,
 * the run fails naming it (API_KEY_ALREADY_ISSUED), to be revoked and created again.
 */
export async function runKeysCreate(client: OpenMcpClient, o: KeysCreateOptions, out: Writer = stdout): Promise<number> {
  try {
    const k = await client.keys.create(o, { idempotencyKey: newId() });
    out(k.key);
    out(`id ${k.id}  role ${k.role}  tenant ${k.tenant}${k.crossTenant ? '  cross-tenant' : ''}${k.agents ? `  agents ${k.agents.join(', ')}` : ''}`);
    out('Store this key now: it is shown only once.');
    return 0;
  } catch (err) {
    const issued = err instanceof ConflictApiError && err.code === 'API_KEY_ALREADY_ISSUED' ? err.problem.keyId : undefined;
    const hint = typeof issued === 'string' ? `(this run's first attempt issued key ${issued}, its answer lost on the way: its secret cannot be shown again; revoke it with \`openmcp keys revoke ${issued}\` and run this command again)` : undefined;
    return reportCliError(err, out, hint);
  }
}

/** `openmcp keys list [--tenant T]`: ids, roles, the agents a key is limited to (`*` = any), prefixes; never the keys. */
export async function runKeysList(client: OpenMcpClient, o: { tenant?: string } = {}, out: Writer = stdout): Promise<number> {
  try {
    const table = cliTable({ head: ['id', 'tenant', 'role', 'name', 'agents', 'prefix', 'created', 'revoked'] });
    for await (const k of client.keys.all({ tenant: o.tenant, limit: 200 })) {
      table.push([k.id, k.tenant, k.role, k.name ?? '', k.agents?.join(', ') ?? '*', `${k.prefix}…`, k.createdAt, k.revokedAt ?? '']);
    }
    out(table.toString());
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

export type KeysSetAgentsOptions = { agents?: string[]; all?: boolean };

/**
 * `openmcp keys set-agents <id> --agent A [--agent B]…` (the whole new list) or `--all` (any agent):
 * changes the agents a key may act as, at once for its next request. Needs an admin key.
 */
export async function runKeysSetAgents(client: OpenMcpClient, id: string, o: KeysSetAgentsOptions, out: Writer = stdout): Promise<number> {
  try {
    if (Boolean(o.all) === Boolean(o.agents?.length)) {
      throw new UsageError('give the whole new list with --agent A (repeatable), or --all for any agent; one of them, not both', { field: 'agents' });
    }
    const k = await client.keys.setAgents(id, o.all ? null : o.agents!);
    out(`id ${k.id}  agents ${k.agents ? k.agents.join(', ') : 'any (no limit)'}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/** `openmcp keys revoke <id>`. */
export async function runKeysRevoke(client: OpenMcpClient, id: string, out: Writer = stdout): Promise<number> {
  try {
    await client.keys.revoke(id);
    out(`revoked ${id}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
