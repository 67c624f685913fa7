import { cliTable } from './table';
import type { Role } from '../auth/roles';
import { UsageError } from './usage-error';
import type { OpenMcpClient } from '../sdk/client';
import { reportCliError, stdout, type Writer } from './tasks';

export type KeysCreateOptions = { role: Role; tenant: string; name?: string; crossTenant?: boolean; agents?: string[] };

/**
 * `openmcp keys create --role R --tenant T [--name N] [--agent A]…`: prints the key once (it is stored only as
 * a hash; it cannot be shown again). Needs an admin key (OPENMCP_API_KEY or the bootstrap key).
 */
export async function runKeysCreate(client: OpenMcpClient, o: KeysCreateOptions, out: Writer = stdout): Promise<number> {
  try {
    const k = await client.keys.create(o);
    out(k.key);
    out(`id ${k.id}  role ${k.role}  tenant ${k.tenant}${k.crossTenant ? '  cross-tenant' : ''}${k.agents ? `  agents ${k.agents.join(', ')}` : ''}`);
    out('Store this key now: it is shown only once.');
    return 0;
  } catch (err) {
    return reportCliError(err, out);
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
