import { OpenMcpError, type ErrorDetails } from '../core/errors';

/** No usable credentials: missing, malformed, unknown, expired or revoked (deliberately not told apart). */
export class UnauthenticatedError extends OpenMcpError {
  constructor(message = 'a valid Authorization: Bearer <api key or JWT> header is required') {
    super('UNAUTHENTICATED', message, { status: 401 });
  }
}

/** Authenticated, but the role or tenant scope does not allow this. */
export class ForbiddenError extends OpenMcpError {
  constructor(message: string, details?: ErrorDetails) {
    super('FORBIDDEN', message, { status: 403, details });
  }
}

export class RateLimitedError extends OpenMcpError {
  constructor(
    readonly scope: 'key' | 'tenant' | 'address',
    readonly retryAfterSeconds: number,
    /** The window's limit (requests per minute), for RateLimit-Limit; none for an address's failures. */
    readonly limit?: number,
  ) {
    const what = scope === 'address' ? 'too many failed authentications from this address' : `rate limit per ${scope} exceeded`;
    super('RATE_LIMITED', `${what}; retry after ${retryAfterSeconds} s`, {
      status: 429,
      details: { scope, retryAfterSeconds },
    });
  }
}

/**
 * The tenant holds as many active API keys as MAX_API_KEYS_PER_TENANT allows: each key is a rate
 * limit and a set of /mcp sessions of its own, so more keys would multiply them. Nothing is stored
 * or recorded.
 */
export class ApiKeyLimitError extends OpenMcpError {
  /** `issuing`: how many of the `active` are still being issued (a POST /v1/keys not finished, or interrupted: they hold their place for at most `holdMinutes`). */
  constructor(tenant: string, active: number, limit: number, issuing = 0, holdMinutes = 5) {
    // More than the limit once the setting was lowered below what the tenant already holds: one
    // revocation is then not enough to issue a key.
    const toRevoke = active - limit + 1;
    const held = active > limit ? `more than MAX_API_KEYS_PER_TENANT allows (${limit}): revoke ${toRevoke} first` : `as many as MAX_API_KEYS_PER_TENANT allows (${limit}): revoke one first`;
    const being = issuing > 0 ? ` (${issuing} of them being issued: a POST /v1/keys not finished holds its place for at most ${holdMinutes} min)` : '';
    super('API_KEY_LIMIT', `tenant ${tenant} has ${active} active API keys${being}, ${held}`, {
      status: 409,
      details: { limit },
    });
  }
}

const IDEMPOTENCY_KEY_FIELD = 'headers.idempotency-key';

/**
 * A POST /v1/keys retried with the Idempotency-Key of a key issued already (its first answer lost,
 * say): that key's id, never its secret, which was shown once, in that answer, and is kept
 * nowhere. Nothing is stored or recorded. The caller holding the secret uses it; one that lost it
 * revokes the key and issues another, under a new Idempotency-Key.
 */
export class ApiKeyAlreadyIssuedError extends OpenMcpError {
  constructor(keyId: string, prefix: string, revokedAt?: string) {
    const state = revokedAt ? `, revoked at ${revokedAt}` : '';
    super(
      'API_KEY_ALREADY_ISSUED',
      `this Idempotency-Key already issued api key ${keyId} (${prefix}…${state}); its secret was in that first answer and is never shown again: ` +
        `if that answer was lost, revoke the key (DELETE /v1/keys/${keyId}) and issue another with a new Idempotency-Key`,
      { status: 409, details: { field: IDEMPOTENCY_KEY_FIELD, keyId } },
    );
  }
}

/** A POST /v1/keys with the Idempotency-Key of another still being answered (or of a process stopped meanwhile: let go within 6 min: held 5, swept every minute): ask again. */
export class IdempotencyKeyInUseError extends OpenMcpError {
  constructor() {
    super('IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still issuing its key: ask again in a moment for its answer', {
      status: 409,
      details: { field: IDEMPOTENCY_KEY_FIELD, retryAfterSeconds: 1 },
    });
  }
}

/** The same Idempotency-Key was sent before with another POST /v1/keys body: nothing is issued (the task's twin: IdempotencyKeyReusedError). */
export class ApiKeyIdempotencyKeyReusedError extends OpenMcpError {
  /** `keyId` unless the asker may not see that key (another tenant's, issued by a cross-tenant admin of the asking tenant). */
  constructor(keyId?: string) {
    super('IDEMPOTENCY_KEY_REUSED', `this Idempotency-Key already issued ${keyId === undefined ? 'an api key' : `api key ${keyId}`} for a different body; use a new key for a new request`, {
      status: 422,
      details: { field: IDEMPOTENCY_KEY_FIELD, ...(keyId === undefined ? {} : { keyId }) },
    });
  }
}

/**
 * The key or token is limited to agent ids (`agents`) and the request would act as another agent,
 * or as none (a task without agentId takes the tenant-wide policy entry). Nothing is appended.
 */
export class AgentNotAllowedError extends OpenMcpError {
  constructor(message: string, details?: ErrorDetails) {
    super('AGENT_NOT_ALLOWED', message, { status: 403, details });
  }
}
