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

/**
 * The key or token is limited to agent ids (`agents`) and the request would act as another agent,
 * or as none (a task without agentId takes the tenant-wide policy entry). Nothing is appended.
 */
export class AgentNotAllowedError extends OpenMcpError {
  constructor(message: string, details?: ErrorDetails) {
    super('AGENT_NOT_ALLOWED', message, { status: 403, details });
  }
}
