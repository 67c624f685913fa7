import { LRUCache } from 'lru-cache';
import type { Actor } from '../core/envelope';
import { UnauthenticatedError } from './errors';
import { hashApiKey, isApiKeyFormat } from './api-key';
import type { ApiKeyRecord, KeyStore } from './key-store';
import type { JwtVerifier } from './jwt';
import type { Principal } from './principal';
import { can } from './roles';

export type AuthenticatorOptions = {
  keys: KeyStore;
  jwt?: JwtVerifier;
  /**
   * How long a verified key is trusted without a store lookup. Revocation through this process
   * takes effect at once (the entry is dropped); through another process, within this time.
   */
  cacheTtlMs?: number;
};

export type Authenticator = {
  /**
   * The principal for an Authorization header value; throws UnauthenticatedError. `connection`
   * (the socket) lets a keep-alive connection that repeats the same header skip the hash.
   */
  authenticate(authorization: string | undefined, connection?: object): Promise<Principal>;
  /** Drop a cached key (called on revocation). */
  forget(hash: string): void;
};

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function principalOfKey(r: ApiKeyRecord): Principal {
  return {
    tenant: r.tenant,
    role: r.role,
    actor: { kind: r.role === 'agent' ? 'agent' : 'user', id: r.id },
    crossTenant: r.crossTenant,
    via: 'api-key',
    subject: r.id,
  };
}

/**
 * Bearer authentication for API keys (`omk_…`, looked up by SHA-256) and JWTs. Every failure
 * is the same 401 so a caller cannot tell an unknown key from a revoked one.
 */
export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const ttl = o.cacheTtlMs ?? 5_000;
  // lru-cache reads ttl 0 as "forever"; here 0 means "do not cache".
  const cache = ttl > 0 ? new LRUCache<string, Principal>({ max: 10_000, ttl }) : undefined;
  // Per-connection memo of the last header seen: clients send the same header on every request
  // of a keep-alive connection. Held weakly (gone with the socket), trusted for the same ttl,
  // and dropped by any revocation (the generation moves on).
  const byConnection = new WeakMap<object, { authorization: string; principal: Principal; until: number; generation: number }>();
  let generation = 0;

  async function verify(authorization: string): Promise<Principal> {
    const m = /^Bearer[ ]+(\S{1,8192})\s*$/i.exec(authorization);
    if (!m) throw new UnauthenticatedError('Authorization must be "Bearer <api key or JWT>"');
    const token = m[1];
    if (o.jwt && JWT_RE.test(token)) return o.jwt(token);
    // Generated keys look like omk_…; OPENMCP_ADMIN_KEY may be any string of 16+ characters.
    if (isApiKeyFormat(token) || token.length >= 16) {
      const hash = hashApiKey(token);
      const hit = cache?.get(hash);
      if (hit) return hit;
      const record = await o.keys.findByHash(hash);
      if (!record || record.revokedAt) throw new UnauthenticatedError('API key not valid');
      const p = principalOfKey(record);
      cache?.set(hash, p);
      return p;
    }
    throw new UnauthenticatedError('bearer token is neither an API key nor an accepted JWT');
  }

  return {
    async authenticate(authorization, connection) {
      if (!authorization) throw new UnauthenticatedError();
      if (connection && cache) {
        const memo = byConnection.get(connection);
        if (memo && memo.authorization === authorization && memo.generation === generation && memo.until > Date.now()) return memo.principal;
      }
      const principal = await verify(authorization);
      if (connection && cache && principal.via === 'api-key') {
        byConnection.set(connection, { authorization, principal, until: Date.now() + ttl, generation });
      }
      return principal;
    },
    forget(hash) {
      cache?.delete(hash);
      generation++;
    },
  };
}

/** What the /mcp gateway plugin needs of a request. */
export type McpAuthentication = { tenant: string; actor: Actor; role: Principal['role']; principal: Principal };

/**
 * For the gateway's `/mcp` plugin option `authenticate(request)`: the caller's tenant and actor,
 * or null when the credentials are missing or bad, or the role may not call tools (mcp:call).
 */
export function mcpAuthenticate(auth: Authenticator) {
  return async (request: { headers: Record<string, string | string[] | undefined> }): Promise<McpAuthentication | null> => {
    const h = request.headers.authorization;
    try {
      const p = await auth.authenticate(Array.isArray(h) ? h[0] : h);
      if (!can(p.role, 'mcp:call')) return null;
      return { tenant: p.tenant, actor: p.actor, role: p.role, principal: p };
    } catch {
      return null;
    }
  };
}
