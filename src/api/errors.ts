import { OpenMcpError } from '../core/errors';

// Raised by authentication and rate limiting (src/auth), answered by the API as problem+json.
export { UnauthenticatedError, ForbiddenError, RateLimitedError } from '../auth/errors';

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
