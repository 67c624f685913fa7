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
    readonly scope: 'key' | 'tenant',
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', `rate limit per ${scope} exceeded; retry after ${retryAfterSeconds} s`, {
      status: 429,
      details: { scope, retryAfterSeconds },
    });
  }
}

/** A list cursor that this server did not issue (or that belongs to another query). */
export class InvalidCursorError extends OpenMcpError {
  constructor(message = 'cursor is not one this server issued') {
    super('INVALID_CURSOR', message, { status: 400, details: { field: 'cursor' } });
  }
}

/** The route exists but the service behind it is not part of this deployment. */
export class NotImplementedError extends OpenMcpError {
  constructor(what: string) {
    super('NOT_IMPLEMENTED', `${what} is not available in this deployment`, { status: 501, details: { what } });
  }
}
