import { LRUCache } from 'lru-cache';
import type { Actor } from '../core/envelope';
import { UnavailableError } from '../core/errors';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from './errors';
import { hashApiKey, isApiKeyFormat } from './api-key';
import type { AuthFailureLimiter } from './auth-failure-limit';
import type { ApiKeyRecord, KeyStore } from './key-store';
import type { JwtVerifier } from './jwt';
import type { Principal } from './principal';
import type { RateLimiter } from './rate-limit';
import { rateLimitHeaders } from './rate-limit-headers';
import { can } from './roles';
import { isReservedTenant } from './tenant';

export type AuthenticatorOptions = {
  keys: KeyStore;
  jwt?: JwtVerifier;
  /**
   * How long a verified key is trusted without a store lookup. Revocation through this process
   * takes effect at once (the entry is dropped); through another process, within this time.
   */
  cacheTtlMs?: number;
  /** Failed authentications per client address (a brake on guessing); used when a call names the address. */
  failures?: AuthFailureLimiter;
};

export type Authenticator = {
  /**
   * The principal for an Authorization header value; throws UnauthenticatedError. `connection`
   * (the socket) lets a keep-alive connection that repeats the same header skip the hash.
   * `address` (the client's, `request.ip`) counts a failure against that address and, past the
   * limit, refuses it with RateLimitedError (429) before the credential is looked at.
   */
  authenticate(authorization: string | undefined, connection?: object, address?: string): Promise<Principal>;
  /** Drop a cached key (called on revocation). */
  forget(hash: string): void;
};

/** A principal and when its credentials were last checked against the store (or verified). */
type Verified = { principal: Principal; at: number };

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** The longest bearer value read (a JWT with many claims still fits; Node refuses headers over 16 KiB anyway). */
const MAX_BEARER = 8192;

function principalOfKey(r: ApiKeyRecord): Principal {
  return {
    tenant: r.tenant,
    role: r.role,
    actor: { kind: r.role === 'agent' ? 'agent' : 'user', id: r.id },
    crossTenant: r.crossTenant,
    ...(r.agents ? { agents: r.agents } : {}),
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
  // Each entry keeps when the store vouched for the key: nothing trusts it longer than ttl after that.
  const cache = ttl > 0 ? new LRUCache<string, Verified>({ max: 10_000, ttl }) : undefined;
  // Per-connection memo of the last header seen: clients send the same header on every request
  // of a keep-alive connection. Held weakly (gone with the socket), trusted until the key's own
  // cache entry expires (ttl after the store lookup, not after the memo), and dropped by any
  // revocation through this process (the generation moves on).
  const byConnection = new WeakMap<object, { authorization: string; principal: Principal; until: number; generation: number }>();
  let generation = 0;

  async function verify(authorization: string): Promise<Verified> {
    const m = /^Bearer[ ]+(\S{1,8192})\s*$/i.exec(authorization);
    if (!m) {
      // Said apart so a caller with an oversized JWT is not told its header is malformed.
      if (/^Bearer[ ]+\S{8193}/i.test(authorization)) throw new UnauthenticatedError(`bearer token longer than ${MAX_BEARER} characters`);
      throw new UnauthenticatedError('Authorization must be "Bearer <api key or JWT>"');
    }
    const token = m[1];
    if (o.jwt && JWT_RE.test(token)) return { principal: await o.jwt(token), at: Date.now() };
    // Generated keys look like omk_…; OPENMCP_ADMIN_KEY is any string of 32+ random characters (admin-key-strength).
    if (isApiKeyFormat(token) || token.length >= 16) {
      const hash = hashApiKey(token);
      const hit = cache?.get(hash);
      if (hit) return hit;
      const asked = generation;
      const record = await o.keys.findByHash(hash);
      // A key of a reserved tenant (stored before they were refused) is refused like a revoked one.
      if (!record || record.revokedAt || isReservedTenant(record.tenant)) throw new UnauthenticatedError('API key not valid');
      const v = { principal: principalOfKey(record), at: Date.now() };
      // A revocation through this process while the store answered: this request may finish with
      // what it learnt, but it must not keep the key trusted for another ttl.
      if (asked === generation) cache?.set(hash, v);
      return v;
    }
    throw new UnauthenticatedError('bearer token is neither an API key nor an accepted JWT');
  }

  async function authenticate(authorization: string | undefined, connection?: object): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError();
    if (connection && cache) {
      const memo = byConnection.get(connection);
      if (memo && memo.authorization === authorization && memo.generation === generation && memo.until > Date.now()) return memo.principal;
    }
    const asked = generation;
    const { principal, at } = await verify(authorization);
    // Memoized under the generation the check began in: a revocation meanwhile voids it.
    if (connection && cache && principal.via === 'api-key') {
      byConnection.set(connection, { authorization, principal, until: at + ttl, generation: asked });
    }
    return principal;
  }

  return {
    async authenticate(authorization, connection, address) {
      const failures = o.failures;
      if (!failures || address === undefined) return authenticate(authorization, connection);
      failures.check(address);
      try {
        return await authenticate(authorization, connection);
      } catch (err) {
        if (err instanceof UnauthenticatedError) await failures.failed(address);
        throw err;
      }
    },
    forget(hash) {
      cache?.delete(hash);
      generation++;
    },
  };
}

/**
 * What the /mcp gateway plugin needs of a request. `credential`: an API key's hash (the key
 * presented, not only its id: see isCredentialRevoked); absent for JWTs.
 */
export type McpAuthentication = {
  tenant: string;
  actor: Actor;
  role: Principal['role'];
  principal: Principal;
  expiresAt?: number;
  credential?: string;
  /** The RateLimit-* headers of the request's answer (rateLimitHeaders); a thrown 403 or 429 carries them too. */
  headers?: Record<string, string>;
};

/**
 * For the gateway's `/mcp` plugin option `authenticate(request)`: the caller's tenant and actor,
 * or null when the credentials are missing or bad (→ 401). A valid key whose role may not call
 * tools (mcp:call) throws ForbiddenError (→ 403 FORBIDDEN, as on REST: the key is fine, its role
 * is not). With `rateLimit` every /mcp request with a valid key, refused for its role or not,
 * counts against the same per-key and per-tenant windows as the REST API; over them it throws
 * RateLimitedError, which the plugin answers with 429. Its `headers` (and a thrown 403's or 429's)
 * are the RateLimit-* headers of the answer, as a REST answer to the key has them.
 * So it does when the client address (`request.ip`) made too many failed authentications.
 * A key store it cannot reach (the database away) throws UnavailableError (→ 503, as on REST).
 */
export function mcpAuthenticate(auth: Authenticator, rateLimit?: RateLimiter) {
  return async (request: { headers: Record<string, string | string[] | undefined>; ip?: string }): Promise<McpAuthentication | null> => {
    const h = request.headers.authorization;
    let p: Principal;
    try {
      p = await auth.authenticate(Array.isArray(h) ? h[0] : h, undefined, request.ip);
    } catch (err) {
      // A key store that cannot be reached says nothing about the key: 503, so the client tries again (a 401 tells it the key is bad).
      if (err instanceof RateLimitedError || err instanceof UnavailableError) throw err;
      return null;
    }
    // Counted first, as on REST: a key refused for its role (403) still uses up its window. Its
    // answer says where the request left the window, as a REST answer does: a 403 and a 429 too.
    const state = await rateLimit?.(p).catch((err: unknown) => {
      throw err instanceof RateLimitedError ? Object.assign(err, { headers: rateLimitHeaders(err) }) : err;
    });
    const headers = rateLimitHeaders(state);
    if (!can(p.role, 'mcp:call')) throw Object.assign(new ForbiddenError(`a ${p.role} key may not call tools (mcp:call; docs/security.md): use an agent or operator key`), { headers });
    // The key accepted, as `Bearer <key>`: its hash tells this value from another stored under the same id since.
    const credential = p.via === 'api-key' ? hashApiKey(String(Array.isArray(h) ? h[0] : h).replace(/^Bearer[ ]+/i, '').trim()) : undefined;
    return {
      tenant: p.tenant,
      actor: p.actor,
      role: p.role,
      principal: p,
      ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
      ...(credential !== undefined ? { credential } : {}),
      headers,
    };
  };
}
