import { OpenMcpError, redactUrlsIn } from '../core/errors';
import type { Problem } from '../api/problem';

/** An error answer of the API: the problem document's code, status and detail, typed by status. */
export class OpenMcpApiError extends OpenMcpError {
  readonly problem: Problem;
  readonly requestId?: string;

  constructor(problem: Problem) {
    super(problem.code, problem.detail ?? problem.title, { status: problem.status, details: { field: problem.field, requestId: problem.requestId } });
    this.problem = problem;
    this.requestId = problem.requestId;
  }

  /** The field the server named, e.g. `body.steps.0.tool`. */
  get field(): string | undefined {
    return this.problem.field;
  }
}

export class ValidationApiError extends OpenMcpApiError {}
/** 401. `keySource`: where the client's key came from, when the client was told (clientFromEnvironment tells it). */
export class UnauthenticatedApiError extends OpenMcpApiError {
  keySource?: string;
}
export class ForbiddenApiError extends OpenMcpApiError {}
export class NotFoundApiError extends OpenMcpApiError {}
/** 409: INVALID_TRANSITION, WRONG_EXPECTED_REVISION, PROOF_PENDING (see retryAfterSeconds), … */
export class ConflictApiError extends OpenMcpApiError {
  get retryAfterSeconds(): number | undefined {
    return this.problem.retryAfterSeconds;
  }
}
export class RateLimitedApiError extends OpenMcpApiError {
  get retryAfterSeconds(): number | undefined {
    return this.problem.retryAfterSeconds;
  }
}
export class UnavailableApiError extends OpenMcpApiError {}

const BY_STATUS: Record<number, new (p: Problem) => OpenMcpApiError> = {
  400: ValidationApiError,
  401: UnauthenticatedApiError,
  403: ForbiddenApiError,
  404: NotFoundApiError,
  409: ConflictApiError,
  413: ValidationApiError,
  414: ValidationApiError,
  415: ValidationApiError,
  431: ValidationApiError,
  429: RateLimitedApiError,
  503: UnavailableApiError,
};

export function apiErrorOf(problem: Problem): OpenMcpApiError {
  const Cls = BY_STATUS[problem.status] ?? OpenMcpApiError;
  return new Cls(problem);
}

/** The server answered with something the SDK's schema does not accept (version skew, proxy page). */
export class ResponseShapeError extends OpenMcpError {
  constructor(what: string, message: string) {
    super('SDK_RESPONSE_INVALID', `${what}: unexpected response: ${message}`, { status: 502 });
  }
}

/** The client's base URL cannot be asked (not http(s), or holding credentials): said before any request (baseUrlProblem). */
export class BaseUrlError extends OpenMcpError {
  constructor(message: string) {
    super('SDK_URL_INVALID', message, { status: 400 });
  }
}

/**
 * The server could not be reached, or did not answer in time, after the retries. `url` must be
 * redacted already; the cause's message is redacted here, because fetch repeats the URL it
 * refused, credentials and all ("Request cannot be constructed from a URL that includes
 * credentials: http://user:pass@…"). Such a cause is not kept: a logger would print it whole.
 */
export class ConnectionError extends OpenMcpError {
  constructor(url: string, cause: unknown, timeoutMs?: number) {
    const said = (cause as Error)?.message ?? String(cause);
    const safe = redactUrlsIn(said);
    const why = timeoutMs === undefined ? safe : `no answer within ${timeoutMs} ms (a request that changes something may still have been applied)`;
    super('SDK_CONNECTION_FAILED', `cannot reach ${url}: ${why}`, { status: 503, cause: safe === said ? cause : undefined });
  }
}

/**
 * A subject's events stayed held (GET /v1/subjects/:subject/events answered `held`, listing nothing
 * new) for as long as `how` says: exportSubject makes no export, which would miss the events past the hold.
 */
export class SubjectExportHeldError extends OpenMcpError {
  constructor(subject: string, held: { position: number; reason: 'unapplied' | 'unindexed' }, how: string) {
    const why = held.reason === 'unindexed'
      ? 'an event a projector of a release before 2026-12-11 applied is not in the subject index yet (openmcp_subject_index_unindexed_events; docs/operations.md, "The subject index (2026-12-11)")'
      : 'the audit log has not applied that position yet (a projection or a partition behind)';
    super('SDK_SUBJECT_EXPORT_HELD', `subject ${subject}: its events are held at position ${held.position}, after ${how}: ${why}; no export made, it would miss the events past it: try again later`, { status: 503 });
  }
}
