import { NotFoundError, ValidationError } from '../core/errors';
import { newId } from '../core/ids';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { handleCommand, type HandleCommandDependencies } from '../domain/handle-command';
import { ForbiddenError } from './errors';
import { generateApiKey } from './api-key';
import { apiKeyDecider, apiKeyStream } from './api-key.decider';
import type { ApiKeyRecord, KeyStore } from './key-store';
import type { Principal } from './principal';
import { can, type Role } from './roles';
import { assertMayIssueFor } from './agent-scope';
import { isReservedTenant, reservedTenantMessage } from './tenant';

export type KeyServiceDependencies = HandleCommandDependencies & { keys: KeyStore; clock?: Clock; onRevoke?: (hash: string) => void };

export type CreateKeyParameters = {
  role: Role;
  tenant: string;
  name?: string;
  crossTenant?: boolean;
  /** The agent ids the key may act as (checked by the API schema: AgentIdsSchema); absent = any. */
  agents?: string[];
  correlationId?: string;
};

/** A key as listed: everything but its hash. */
export type ApiKeyView = Omit<ApiKeyRecord, 'hash'>;

export function keyView(r: ApiKeyRecord): ApiKeyView {
  const { hash: _hash, ...view } = r;
  return view;
}

/** The id of the bootstrap admin key (its row is replaced on start when OPENMCP_ADMIN_KEY changes). */
export const BOOTSTRAP_KEY_ID = '00000000-0000-7000-8000-000000000000';

function assertManages(by: Principal, tenant: string): void {
  if (by.tenant !== tenant && !by.crossTenant) throw new ForbiddenError(`keys of tenant ${tenant} are outside your tenant`, { field: 'tenant' });
}

/**
 * Issue a key: store its hash, then record ApiKeyCreated (without key or hash) in the log.
 * If the append fails the row is removed again, so no key works without its audit event.
 * Only a cross-tenant admin may issue a cross-tenant key, and only for roles admin or auditor.
 * `agents` is for roles that submit tasks (tasks:write); a principal limited to agents issues
 * such keys only limited to some of its own.
 */
export async function createApiKey(
  deps: KeyServiceDependencies,
  by: Principal,
  p: CreateKeyParameters,
): Promise<{ key: string; record: ApiKeyView }> {
  assertManages(by, p.tenant);
  if (isReservedTenant(p.tenant)) throw new ValidationError(reservedTenantMessage(p.tenant), { field: 'tenant' });
  const crossTenant = p.crossTenant ?? false;
  if (crossTenant && !by.crossTenant) throw new ForbiddenError('only a cross-tenant admin can issue cross-tenant keys', { field: 'crossTenant' });
  if (crossTenant && p.role !== 'admin' && p.role !== 'auditor') {
    throw new ForbiddenError('cross-tenant keys are for roles admin and auditor only', { field: 'crossTenant' });
  }
  if (can(p.role, 'tasks:write')) assertMayIssueFor(by, p.agents);
  else if (p.agents) {
    throw new ValidationError(`agents limits the agents a key submits tasks as; a ${p.role} key submits none (roles admin, operator, agent)`, { field: 'body.agents' });
  }
  const { key, hash, prefix } = generateApiKey();
  const record: ApiKeyRecord = {
    id: newId(),
    tenant: p.tenant,
    role: p.role,
    ...(p.name !== undefined ? { name: p.name } : {}),
    crossTenant,
    ...(p.agents ? { agents: [...p.agents] } : {}),
    prefix,
    hash,
    createdAt: (deps.clock ?? systemClock)().toISOString(),
    createdBy: by.actor.id,
  };
  await deps.keys.insert(record);
  try {
    await handleCommand(deps, {
      decider: apiKeyDecider,
      stream: apiKeyStream(record.id),
      command: { type: 'CreateApiKey', keyId: record.id, role: p.role, name: p.name, crossTenant, prefix, agents: record.agents },
      metadata: { tenant: p.tenant, actor: by.actor, correlationId: p.correlationId },
    });
  } catch (err) {
    await deps.keys.remove(record.id);
    throw err;
  }
  return { key, record: keyView(record) };
}

/** Revoke a key of the caller's tenant (any tenant for cross-tenant admins; cross-tenant keys by them only). The bootstrap key is revoked by changing OPENMCP_ADMIN_KEY. */
export async function revokeApiKey(deps: KeyServiceDependencies, by: Principal, id: string, correlationId?: string): Promise<void> {
  const record = await deps.keys.get(id);
  if (!record || (record.tenant !== by.tenant && !by.crossTenant)) throw new NotFoundError('api key', id);
  if (id === BOOTSTRAP_KEY_ID) throw new ForbiddenError('the bootstrap admin key is replaced by changing OPENMCP_ADMIN_KEY (or DATA_DIR/admin.key), not revoked');
  // Only a cross-tenant admin issues cross-tenant keys; a tenant admin of the key's home tenant
  // must not take them away either (it could lock the operators who see every tenant out).
  if (record.crossTenant && !by.crossTenant) throw new ForbiddenError('only a cross-tenant admin can revoke a cross-tenant key', { field: 'id' });
  // Refuse the key first (fail closed); a failed append leaves the log behind, and a retried
  // DELETE appends the missing ApiKeyRevoked because the log still says active.
  await deps.keys.revoke(id, (deps.clock ?? systemClock)().toISOString());
  deps.onRevoke?.(record.hash);
  await handleCommand(deps, {
    decider: apiKeyDecider,
    stream: apiKeyStream(id),
    command: { type: 'RevokeApiKey', keyId: id },
    metadata: { tenant: record.tenant, actor: by.actor, correlationId },
  });
}
