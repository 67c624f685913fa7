import { isHex32 } from '../core/hex';
import type { KeyStore } from './key-store';

/**
 * Whether the API key a principal authenticated with has been revoked since: for the /mcp
 * plugin's `isRevoked`, which ends what no request renews (an open GET stream). With its
 * `credential` (the key's hash, from mcpAuthenticate), the key itself is looked up: one revoked,
 * removed, or whose value was replaced under the same id — the bootstrap admin key, rotated by
 * changing OPENMCP_ADMIN_KEY, keeps its id — counts as revoked. Without, by the actor id (an API
 * key's actor id is its key id; JWT subjects have no key to revoke).
 * @example await isCredentialRevoked(keys, { actor: { id: keyId }, credential: hashApiKey(key) })
 */
export async function isCredentialRevoked(keys: KeyStore, p: { actor: { id: string }; credential?: string }): Promise<boolean> {
  if (p.credential === undefined) return Boolean((await keys.get(p.actor.id))?.revokedAt);
  // Not a key's hash: no key is known by it.
  const record = isHex32(p.credential) ? await keys.findByHash(p.credential) : undefined;
  return !record || record.id !== p.actor.id || Boolean(record.revokedAt);
}
