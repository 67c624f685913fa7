import { canonicalJson } from '../core/canonical';
import { sha256Utf8Hex } from '../core/hash';
import { ApiKeyAlreadyIssuedError, ApiKeyIdempotencyKeyReusedError, IdempotencyKeyInUseError } from './errors';
import type { IdempotentKey, KeyIdempotency } from './key-store';
import type { Role } from './roles';

/** What a POST /v1/keys asks: the fields that make two requests the same one. */
export type KeyRequest = { role: Role; tenant: string; name?: string; crossTenant: boolean; agents?: readonly string[] };

/**
 * The digests a key is stored with when issued under an Idempotency-Key: of the asking tenant
 * (a key is scoped to it, as a task's is) with the key, and of the request (agents in any order
 * are the same list). Digests only, so the key store keeps nothing a client chose to put there.
 * Requires an `idempotencyKey` matching IDEMPOTENCY_KEY.
 * @example keyIdempotency('acme', 'mint-42', { role: 'viewer', tenant: 'acme', crossTenant: false }).key // '0x…'
 */
export function keyIdempotency(askingTenant: string, idempotencyKey: string, request: KeyRequest): KeyIdempotency {
  const { role, tenant, name, crossTenant, agents } = request;
  return {
    key: sha256Utf8Hex(`${askingTenant}\n${idempotencyKey}`),
    request: sha256Utf8Hex(canonicalJson({ role, tenant, name: name ?? null, crossTenant, agents: agents ? [...agents].sort() : null })),
  };
}

/**
 * The answer to a request whose Idempotency-Key a key holds already, thrown: that key, issued
 * (ApiKeyAlreadyIssuedError: its id, never its secret, shown once in the first answer), or still
 * being issued (IdempotencyKeyInUseError: ask again in a moment); another request under the same
 * key is refused (ApiKeyIdempotencyKeyReusedError), naming the key only when `reachesKey` (the
 * asker manages its tenant). Nothing is stored or recorded for it.
 */
export function refuseRepeat(found: IdempotentKey, idempotency: KeyIdempotency, reachesKey = true): never {
  // The key a cross-tenant admin of the asking tenant issued in another tenant is no business of
  // that tenant's own admins (its id is 404 to them): the refusal names no key to them.
  if (found.request !== idempotency.request) throw new ApiKeyIdempotencyKeyReusedError(reachesKey ? found.record.id : undefined);
  if (!found.issued) throw new IdempotencyKeyInUseError();
  throw new ApiKeyAlreadyIssuedError(found.record.id, found.record.prefix, found.record.revokedAt);
}
