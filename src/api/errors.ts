import { OpenMcpError } from '../core/errors';

// Raised by authentication and rate limiting (src/auth), answered by the API as problem+json.
export { UnauthenticatedError, ForbiddenError, RateLimitedError } from '../auth/errors';

export { InvalidCursorError } from '../core/errors';

/** The route exists but the service behind it is not part of this deployment. */
export class NotImplementedError extends OpenMcpError {
  constructor(what: string) {
    super('NOT_IMPLEMENTED', `${what} is not available in this deployment`, { status: 501, details: { what } });
  }
}

/** The dashboard's live stream refused while the process drains or HTTP closes (eventStreamsOf): 503, `Retry-After: 1`. */
export class StreamRefusedError extends OpenMcpError {
  constructor() {
    super('DEPENDENCY_UNAVAILABLE', 'this process is shutting down: open the stream again (another replica answers, or this one once restarted)', {
      status: 503,
      details: { retryAfterSeconds: 1 },
    });
  }
}
