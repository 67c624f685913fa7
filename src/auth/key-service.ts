import { InvalidTransitionError, NotFoundError, UnavailableError, ValidationError } from '../core/errors';
import { newId } from '../core/ids';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { handleCommand, type HandleCommandDependencies } from '../domain/handle-command';
import { ApiKeyLimitError, ForbiddenError, IdempotencyKeyInUseError } from './errors';
import { generateApiKey } from './api-key';
import { apiKeyDecider, apiKeyStream } from './api-key.decider';
import { IdempotencyKeyTakenError, type ApiKeyRecord, type KeyIdempotency, type KeyStore } from './key-store';
import { keyIdempotency, refuseRepeat } from './key-idempotency';
import type { Principal } from './principal';
import { can, type Role } from './roles';
import { assertMayIssueFor } from './agent-scope';
import { isReservedTenant, reservedTenantMessage } from './tenant';
import { recordUnissuedKeyEnd, UNISSUED_KEY_HOLD_MS } from './settle-unissued-keys';

export type KeyServiceDependencies = HandleCommandDependencies & {
  keys: KeyStore;
  clock?: Clock;
  /** A key was revoked or its agents changed: drop what this process trusts of it (the authenticator's `forget`). */
  onKeyChange?: (hash: string) => void;
  /**
   * Active keys one tenant may hold (MAX_API_KEYS_PER_TENANT); none when unset. The bootstrap
   * admin key is the configuration's own (ensureAdminKey stores it, not createApiKey): not counted.
   */
  maxKeysPerTenant?: number;
};

export type CreateKeyParameters = {
  role: Role;
  tenant: string;
  name?: string;
  crossTenant?: boolean;
  /** The agent ids the key may act as (checked by the API schema: AgentIdsSchema); absent = any. */
  agents?: string[];
  correlationId?: string;
  /** The client's Idempotency-Key (already checked against IDEMPOTENCY_KEY): a retry never issues a second key. */
  idempotencyKey?: string;
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
  if (by.tenant !== tenant && !by.crossTenant) throw new ForbiddenError(`keys of tenant ${tenant} are outside your tenant`, { field: 'body.tenant' });
}

/** Only a key of a role that submits tasks (tasks:write) has agents to limit. */
function assertAgentsFit(role: Role, agents: readonly string[] | undefined): void {
  if (agents && !can(role, 'tasks:write')) {
    throw new ValidationError(`agents limits the agents a key submits tasks as; ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} key submits none (roles admin, operator, agent)`, { field: 'body.agents' });
  }
}

/** Refuses the request of `by` when a key holds its idempotency key (refuseRepeat); returns when none does. */
async function refuseIfHeld(keys: KeyStore, idempotency: KeyIdempotency, by: Principal): Promise<void> {
  const found = await keys.findByIdempotencyKey(idempotency.key);
  if (found) refuseRepeat(found, idempotency, by.crossTenant || found.record.tenant === by.tenant);
}

/**
 * Issue a key in three steps: store its hash as being issued (it holds its place under the limit
 * but does not authenticate), record ApiKeyCreated (without key or hash) in the log, then hand it
 * out (`issue`): only now does it authenticate, and only now is it returned. So no key works
 * without its audit event, and a key never handed out never works. A failure after the row lets
 * the key go at once (its place is free) and answers the error; a process killed in between leaves
 * it being issued, and settleUnissuedKeys (run by every API process) lets it go after
 * UNISSUED_KEY_HOLD_MS, recording ApiKeyRevoked when its ApiKeyCreated was recorded.
 * With `maxKeysPerTenant`, a tenant that holds as many active keys (those being issued included)
 * is refused (409 API_KEY_LIMIT, nothing stored or recorded), whoever asks: a revoked key frees its place.
 * Only a cross-tenant admin may issue a cross-tenant key, and only for roles admin or auditor.
 * `agents` is for roles that submit tasks (tasks:write); a principal limited to agents issues
 * such keys only limited to some of its own.
 * With `idempotencyKey`, scoped to the asking tenant as a task's is, the key is stored with its
 * digests (keyIdempotency): a request that finds one holding it issues nothing and is refused
 * with that key's id (409 API_KEY_ALREADY_ISSUED; never the secret, shown once), or told to ask
 * again while it is being issued (409 IDEMPOTENCY_KEY_IN_USE), or, for another body, 422
 * IDEMPOTENCY_KEY_REUSED; checked before the tenant's limit, so a retry at the limit learns its key.
 * A key let go unissued gives its Idempotency-Key up: a retry after a failed request issues one.
 */
export async function createApiKey(
  deps: KeyServiceDependencies,
  by: Principal,
  p: CreateKeyParameters,
): Promise<{ key: string; record: ApiKeyView }> {
  assertManages(by, p.tenant);
  if (isReservedTenant(p.tenant)) throw new ValidationError(reservedTenantMessage(p.tenant), { field: 'body.tenant' });
  const crossTenant = p.crossTenant ?? false;
  if (crossTenant && !by.crossTenant) throw new ForbiddenError('only a cross-tenant admin can issue cross-tenant keys', { field: 'body.crossTenant' });
  if (crossTenant && p.role !== 'admin' && p.role !== 'auditor') {
    throw new ForbiddenError('cross-tenant keys are for roles admin and auditor only', { field: 'body.crossTenant' });
  }
  assertAgentsFit(p.role, p.agents);
  if (can(p.role, 'tasks:write')) assertMayIssueFor(by, p.agents);
  const idempotency = p.idempotencyKey === undefined ? undefined : keyIdempotency(by.tenant, p.idempotencyKey, { ...p, crossTenant });
  if (idempotency) await refuseIfHeld(deps.keys, idempotency, by);
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
  // Each key is a rate limit and a set of /mcp sessions of its own: a tenant's admin could
  // otherwise multiply them without end. Counted and inserted in one step, so requests at once
  // cannot pass the limit together.
  const max = deps.maxKeysPerTenant;
  try {
    if (max === undefined) await deps.keys.insert(record, { issuing: true, idempotency });
    else {
      const { inserted, active, issuing } = await deps.keys.insertUnderLimit(record, { limit: max, except: BOOTSTRAP_KEY_ID, issuing: true, idempotency });
      if (!inserted) {
        // The same request sent at once may have taken the last place after our look-up: its answer, not the limit.
        if (idempotency) await refuseIfHeld(deps.keys, idempotency, by);
        throw new ApiKeyLimitError(p.tenant, active, max, issuing, UNISSUED_KEY_HOLD_MS / 60_000);
      }
    }
  } catch (err) {
    // The same request at once, inserted first: its answer (or, let go meanwhile, ask again).
    if (!(err instanceof IdempotencyKeyTakenError) || !idempotency) throw err;
    await refuseIfHeld(deps.keys, idempotency, by);
    throw new IdempotencyKeyInUseError();
  }
  // Once the row is in, any failure lets the key go at once: its place is free again, and the
  // sweep completes its log (the append may have been written although it failed). Should letting
  // it go fail too, the sweep does it after the hold.
  const letGo = () => deps.keys.abandon(record.id, (deps.clock ?? systemClock)().toISOString()).catch(() => false);
  let issued: boolean;
  try {
    await handleCommand(deps, {
      decider: apiKeyDecider,
      stream: apiKeyStream(record.id),
      command: { type: 'CreateApiKey', keyId: record.id, role: p.role, name: p.name, crossTenant, prefix, agents: record.agents },
      metadata: { tenant: p.tenant, actor: by.actor, correlationId: p.correlationId },
    });
    issued = await deps.keys.issue(record.id);
  } catch (err) {
    await letGo();
    throw err;
  }
  if (!issued) {
    // The sweep let it go while ApiKeyCreated was being recorded (that took longer than the hold),
    // perhaps finding nothing in its log yet: its log ends here, and nothing is handed out.
    await recordUnissuedKeyEnd(deps, record, p.correlationId).catch(() => undefined);
    throw new UnavailableError(
      'event store',
      `api key ${record.id} was not issued: recording it took longer than ${UNISSUED_KEY_HOLD_MS / 60_000} min, so it was let go (ApiKeyRevoked) and nothing was handed out; issue another`,
    );
  }
  return { key, record: keyView(record) };
}

const BOOTSTRAP_UNCHANGED = {
  revoke: 'the bootstrap admin key is replaced by changing OPENMCP_ADMIN_KEY (or DATA_DIR/admin.key), not revoked',
  change:
    'the bootstrap admin key acts as any agent: every start puts it back as configured (OPENMCP_ADMIN_KEY or DATA_DIR/admin.key); ' +
    'issue an admin key limited to agents instead (POST /v1/keys with agents)',
};

/**
 * The key `by` may revoke or change: of its tenant, of any for a cross-tenant admin (else 404, as
 * a missing key); not the bootstrap key (403); a cross-tenant key by a cross-tenant admin only (403).
 */
async function keyToAdminister(deps: KeyServiceDependencies, by: Principal, id: string, action: 'revoke' | 'change'): Promise<ApiKeyRecord> {
  const record = await deps.keys.get(id);
  if (!record || (record.tenant !== by.tenant && !by.crossTenant)) throw new NotFoundError('api key', id);
  if (id === BOOTSTRAP_KEY_ID) throw new ForbiddenError(BOOTSTRAP_UNCHANGED[action], { field: 'id' });
  // Only a cross-tenant admin issues cross-tenant keys; a tenant admin of the key's home tenant
  // must not take them away or narrow them either (it could lock the operators who see every tenant out).
  if (record.crossTenant && !by.crossTenant) throw new ForbiddenError(`only a cross-tenant admin can ${action} a cross-tenant key`, { field: 'id' });
  return record;
}

/** Revoke a key of the caller's tenant (any tenant for cross-tenant admins; cross-tenant keys by them only). The bootstrap key is revoked by changing OPENMCP_ADMIN_KEY. */
export async function revokeApiKey(deps: KeyServiceDependencies, by: Principal, id: string, correlationId?: string): Promise<void> {
  const record = await keyToAdminister(deps, by, id, 'revoke');
  // Refuse the key first (fail closed); a failed append leaves the log behind, and a retried
  // DELETE appends the missing ApiKeyRevoked because the log still says active.
  await deps.keys.revoke(id, (deps.clock ?? systemClock)().toISOString());
  deps.onKeyChange?.(record.hash);
  await handleCommand(deps, {
    decider: apiKeyDecider,
    stream: apiKeyStream(id),
    command: { type: 'RevokeApiKey', keyId: id },
    metadata: { tenant: record.tenant, actor: by.actor, correlationId },
  });
}

/** The agents a key keeps while a change from `had` to `next` is recorded, when it takes some away (undefined = no limit). */
function narrowing(had: readonly string[] | undefined, next: readonly string[] | undefined): string[] | undefined {
  if (!next) return undefined;
  if (!had) return [...next];
  const kept = had.filter((a) => next.includes(a));
  return kept.length < had.length ? kept : undefined;
}

/**
 * Change the agents a key may act as (`agents`: checked by the API schema, AgentIdsSchema; null =
 * any agent of its tenant), by the rules of revokeApiKey, and of createApiKey for the list (a role
 * that submits tasks; a limited admin sets only lists within its own). Records ApiKeyAgentsChanged
 * (by `by`, in the key's tenant), then writes the list the key's stream now ends with into the
 * store and drops the key from this process's authenticator: its next request is checked against
 * it. The list the key has already (in any order) records nothing and answers the key as it is.
 * A write that fails after the append answers the error; the same request again finds the change
 * in the log, records nothing and writes it (the store takes a list only from a newer revision, so
 * changes made at once end with the last one recorded).
 * @example await changeApiKeyAgents(deps, admin, keyId, ['billing-bot'])
 */
export async function changeApiKeyAgents(
  deps: KeyServiceDependencies,
  by: Principal,
  id: string,
  agents: string[] | null,
  correlationId?: string,
): Promise<ApiKeyView> {
  const record = await keyToAdminister(deps, by, id, 'change');
  if (record.revokedAt) {
    throw new InvalidTransitionError('apikey', 'revoked', 'ChangeApiKeyAgents', `api key ${id} was revoked at ${record.revokedAt}: a revoked key's agents do not change (issue a new key)`);
  }
  const list = agents ?? undefined;
  assertAgentsFit(record.role, list);
  if (can(record.role, 'tasks:write')) assertMayIssueFor(by, list, 'change');
  // A change that takes agents away fails closed: the key first keeps only the agents both lists
  // allow, so if recording the change or writing it after fails, the key is never wider than its
  // log says (the same request again completes it). Agents given are written only once recorded.
  const interim = narrowing(record.agents, list);
  if (interim && (await deps.keys.narrowAgents(id, interim))) deps.onKeyChange?.(record.hash);
  const { state, nextExpectedRevision } = await handleCommand(deps, {
    decider: apiKeyDecider,
    stream: apiKeyStream(id),
    command: { type: 'ChangeApiKeyAgents', keyId: id, ...(list ? { agents: list } : {}) },
    metadata: { tenant: record.tenant, actor: by.actor, correlationId },
  });
  // What the log says now, at the revision it says it: a change recorded at once by another
  // request, after this one's, is newer and stays.
  if (await deps.keys.setAgents(id, state.agents, nextExpectedRevision)) deps.onKeyChange?.(record.hash);
  const now = await deps.keys.get(id);
  if (!now) throw new NotFoundError('api key', id);
  return keyView(now);
}
