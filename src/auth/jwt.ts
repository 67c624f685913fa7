import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { AgentIdsSchema } from '../../events/auth.events';
import { ConfigError } from '../core/errors';
import { loadOptional } from '../core/load-optional';
import { isUuidV7 } from '../core/ids';
import { UnauthenticatedError } from './errors';
import type { Principal } from './principal';
import { isRole } from './roles';
import { isReservedTenant, TenantSchema } from './tenant';

// jose is loaded only with JWT settings: every process authenticates API keys through this module,
// and `openmcp mcp stdio` answers an MCP host only once its modules are loaded.
// A failure to load it names the setting that needs it (loadOptional), not a JWKS file it read.
const loadJose = (setting: string) => loadOptional(setting, () => require('jose') as typeof import('jose'));

export type JwtSettings = {
  JWT_SECRET?: string;
  JWT_PUBLIC_KEY_FILE?: string;
  JWT_JWKS_FILE?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
};

/** Verifies a bearer JWT and maps its claims to a principal; throws UnauthenticatedError. */
export type JwtVerifier = (token: string) => Promise<Principal>;

const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/** Leeway for exp and nbf, so a token minted by an IdP whose clock runs a little ahead is not refused as not yet valid. */
export const JWT_CLOCK_TOLERANCE_S = 30;

/**
 * Claims (docs/security.md): `sub` → actor id (never of an API key id's form, a UUIDv7);
 * `tenant` → tenant; `role` → one of the five roles; `cross_tenant: true` → cross-tenant scope
 * (honoured for admin and auditor only); `agents` → the agent ids the principal may act as (as a
 * key's list; a malformed claim refuses the token).
 * Actor kind is `agent` for role agent, `user` otherwise.
 */
export function principalFromClaims(claims: JWTPayload): Principal {
  const sub = claims.sub;
  // The sub becomes the actor id of events and a key of session ownership: no control characters,
  // and Unicode text (a payload may escape a lone surrogate, "\ud800", which no event may hold: createEvent).
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200 || CONTROL_RE.test(sub) || !sub.isWellFormed()) throw new UnauthenticatedError('token has no usable sub claim');
  // An API key's actor id is its key id, a UUIDv7 (the bootstrap key's too), and "the same
  // principal" is the same actor id: /mcp session ownership, four-eyes approvals, the log's
  // readers. A sub that could be a key id would be taken for that key's holder, so none may.
  if (isUuidV7(sub)) throw new UnauthenticatedError('token sub claim has the form of an API key id (a UUIDv7); a JWT subject may not, both are actor ids (docs/security.md)');
  const tenant = TenantSchema.safeParse(claims.tenant);
  if (!tenant.success) throw new UnauthenticatedError('token has no usable tenant claim');
  // A principal of tenant system would read the sealer's and anchorer's events as its own.
  if (isReservedTenant(tenant.data)) throw new UnauthenticatedError(`token tenant claim names the reserved tenant ${tenant.data}`);
  if (!isRole(claims.role)) throw new UnauthenticatedError('token role claim is not one of admin, operator, agent, auditor, viewer');
  const role = claims.role;
  // A limit the gateway cannot read must not become no limit: refuse the token instead.
  const agents = claims.agents === undefined ? undefined : AgentIdsSchema.safeParse(claims.agents);
  if (agents && !agents.success) throw new UnauthenticatedError(`token agents claim is not a list of 1 to 100 distinct agent ids (${agents.error.issues[0]?.message})`);
  return {
    tenant: tenant.data,
    role,
    actor: { kind: role === 'agent' ? 'agent' : 'user', id: sub },
    crossTenant: claims.cross_tenant === true && (role === 'admin' || role === 'auditor'),
    ...(agents ? { agents: agents.data } : {}),
    via: 'jwt',
    // Subjects are unique per issuer, not across tenants: two tenants' "bot" are two callers
    // (else one tenant's traffic would use up the other's per-key rate limit). Tenants hold no ':'.
    subject: `jwt:${tenant.data}:${sub}`,
    // An open /mcp GET stream makes no request that would notice the expiry: the gateway ends it by this.
    ...(typeof claims.exp === 'number' ? { expiresAt: (claims.exp + JWT_CLOCK_TOLERANCE_S) * 1000 } : {}),
  };
}

function readKeyFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${(err as Error).message}`, { variable });
  }
}

/**
 * Build the verifier from configuration, or undefined when no JWT setting is present.
 * HS256 with JWT_SECRET; RS256/ES256 with a PEM public key (JWT_PUBLIC_KEY_FILE) or a local
 * JWKS (JWT_JWKS_FILE). Exactly one source may be set. `alg: none` and algorithm confusion are
 * refused because each source pins its algorithms.
 */
export function createJwtVerifier(s: JwtSettings): JwtVerifier | undefined {
  const sources = [s.JWT_SECRET, s.JWT_PUBLIC_KEY_FILE, s.JWT_JWKS_FILE].filter(Boolean).length;
  if (sources === 0) return undefined;
  if (sources > 1) throw new ConfigError('set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWT_JWKS_FILE', { variable: 'JWT_SECRET' });
  const { createLocalJWKSet, errors: joseErrors, jwtVerify } = loadJose(s.JWT_SECRET ? 'JWT_SECRET' : s.JWT_PUBLIC_KEY_FILE ? 'JWT_PUBLIC_KEY_FILE' : 'JWT_JWKS_FILE');
  let key: KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  if (s.JWT_SECRET) {
    key = createSecretKey(Buffer.from(s.JWT_SECRET, 'utf8'));
    algorithms = ['HS256'];
  } else if (s.JWT_PUBLIC_KEY_FILE) {
    try {
      key = createPublicKey(readKeyFile('JWT_PUBLIC_KEY_FILE', s.JWT_PUBLIC_KEY_FILE));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`JWT_PUBLIC_KEY_FILE: not a PEM public key: ${(err as Error).message}`, { variable: 'JWT_PUBLIC_KEY_FILE' });
    }
    // ES256 is P-256 only: another curve would start fine and then refuse every token as "not valid".
    const p256 = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    algorithms = key.asymmetricKeyType === 'rsa' ? ['RS256'] : p256 ? ['ES256'] : [];
    if (!algorithms.length) throw new ConfigError('JWT_PUBLIC_KEY_FILE: expected an RSA or EC P-256 public key', { variable: 'JWT_PUBLIC_KEY_FILE' });
  } else {
    let jwks: unknown;
    try {
      jwks = JSON.parse(readKeyFile('JWT_JWKS_FILE', s.JWT_JWKS_FILE!));
      key = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`JWT_JWKS_FILE: not a JWKS document: ${(err as Error).message}`, { variable: 'JWT_JWKS_FILE' });
    }
    algorithms = ['RS256', 'ES256'];
  }
  const options = {
    algorithms,
    // A token without exp would be valid forever, and a JWT cannot be revoked here: refuse it.
    requiredClaims: ['exp'],
    clockTolerance: JWT_CLOCK_TOLERANCE_S,
    ...(s.JWT_ISSUER ? { issuer: s.JWT_ISSUER } : {}),
    ...(s.JWT_AUDIENCE ? { audience: s.JWT_AUDIENCE } : {}),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      payload = typeof key === 'function' ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      const reason =
        err instanceof joseErrors.JWTExpired
          ? 'token expired'
          : err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp' && err.reason === 'missing'
            ? 'token has no exp claim (tokens must expire)'
            : 'token not valid';
      throw new UnauthenticatedError(reason);
    }
    return principalFromClaims(payload);
  };
}
