import { OpenMcpError, redactUrlsIn, ValidationError } from '../core/errors';
import { cutText, wellFormed } from '../core/well-formed';
import { untilAborted } from '../core/within';

/** Codes of the gateway's own errors (listed in docs/errors.md). */
export type McpGatewayErrorCode =
  | 'MCP_TOOL_NOT_FOUND'
  | 'MCP_SERVER_EXISTS'
  | 'MCP_SERVER_LIMIT'
  | 'MCP_SECRET_MISSING'
  | 'MCP_UPSTREAM_UNAVAILABLE'
  | 'MCP_UPSTREAM_TIMEOUT'
  | 'MCP_UPSTREAM_BUSY'
  | 'MCP_UPSTREAM_ERROR'
  | 'MCP_CIRCUIT_OPEN'
  | 'MCP_CALL_CANCELLED'
  | 'AUDIT_UNAVAILABLE'
  | 'DEPENDENCY_UNAVAILABLE';

const STATUS: Record<McpGatewayErrorCode, number> = {
  MCP_TOOL_NOT_FOUND: 404,
  MCP_SERVER_EXISTS: 409,
  MCP_SERVER_LIMIT: 409,
  MCP_SECRET_MISSING: 400,
  MCP_UPSTREAM_UNAVAILABLE: 503,
  MCP_UPSTREAM_TIMEOUT: 504,
  MCP_UPSTREAM_BUSY: 503,
  MCP_UPSTREAM_ERROR: 502,
  MCP_CIRCUIT_OPEN: 503,
  // nginx's "client closed request": nobody is left to read the answer; the audit records it.
  MCP_CALL_CANCELLED: 499,
  AUDIT_UNAVAILABLE: 503,
  // The gateway itself, shutting down (shuttingDownError): as REST's own outages, 503.
  DEPENDENCY_UNAVAILABLE: 503,
};

export class McpGatewayError extends OpenMcpError {
  declare readonly code: McpGatewayErrorCode;
  constructor(code: McpGatewayErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { status: STATUS[code], ...opts });
  }
}

/**
 * The upstream answered with a JSON-RPC error. Its code and message are passed through to the
 * gateway's client unchanged; it does not count against the upstream's circuit breaker.
 */
export class UpstreamProtocolError extends McpGatewayError {
  constructor(readonly rpcCode: number, readonly rpcMessage: string, readonly rpcData?: unknown) {
    super('MCP_UPSTREAM_ERROR', rpcMessage, { details: { rpcCode } });
  }
}

/**
 * A call's own timeout (MCP_UPSTREAM_TIMEOUT): its tool gave no answer, nor progress, in time. Told
 * apart from a connect's (initialize, tools/list), which says the server is down: on a shared
 * server this one counts against the calling tenant's circuit only (TenantBreakers), as it may be
 * the call's own doing (a slow tool, arguments that make it slow).
 */
export class CallTimeoutError extends McpGatewayError {
  constructor(message: string, cause: unknown) {
    super('MCP_UPSTREAM_TIMEOUT', message, { cause });
  }
}

/**
 * An upstream's answer nested deeper than the audit can hash (MAX_RESULT_DEPTH): withheld from the
 * caller, the call recorded failed (AUDIT_UNAVAILABLE, as any result the log cannot hold). The
 * upstream answered, so it is alive: no breaker failure, no retry, its connection kept.
 */
export class ResultTooDeepError extends McpGatewayError {
  constructor(label: string, limit: number) {
    const message = `${label}: the result nests deeper than ${limit} levels, more than the audit log can hash; withheld`;
    // Caused by a refusal (ValidationError), as a result the log cannot hold (ToolCallAudit.unrecordable):
    // an agent's step fails on it. Without one, it reads as the store's outage, and the step is tried again.
    super('AUDIT_UNAVAILABLE', message, { cause: new ValidationError(message, { field: 'result' }), details: { field: 'result' } });
  }
}

/**
 * The upstream's answer to one call was over the most the gateway reads of one message (10 MiB,
 * MAX_UPSTREAM_MESSAGE_BYTES): over HTTP, a JSON answer or an event of the call's own answer stream.
 * MCP_UPSTREAM_UNAVAILABLE, as any answer the gateway could not read; but the upstream answered,
 * so it is alive: not the server's breaker failure, its connection kept, not retried (the same call
 * would be answered as much again). On a shared server it counts against the calling tenant's circuit.
 * Over stdio the SDK ends the connection instead, failing every call on it: no such error there.
 */
export class AnswerTooLargeError extends McpGatewayError {
  constructor(label: string, cause: Error) {
    super('MCP_UPSTREAM_UNAVAILABLE', `${label}: ${cause.message}; ask the tool for less (narrower arguments, a page at a time)`, { cause });
  }
}

/**
 * The error of a call cancelled by its caller (notifications/cancelled) or with its session (the
 * client went away, the session was closed): nobody reads it but the audit. The SDK aborts with
 * the client's reason when it gave one, else with a plain AbortError, which says nothing more.
 */
export function cancelledError(signal: AbortSignal): McpGatewayError {
  const reason: unknown = signal.reason;
  // Aborted by the gateway itself with the error its caller gets (shuttingDownError: a drain's cut-off).
  if (reason instanceof McpGatewayError) return reason;
  const plain = reason === undefined || (reason instanceof Error && reason.name === 'AbortError');
  // The caller's reason may hold a URL with credentials: redacted before it is cut, or a cut
  // inside the password would leave what redaction no longer recognises.
  const why = plain ? '' : `: ${redactUrlsIn(reason instanceof Error ? reason.message : String(reason))}`;
  // The client's own text, recorded in ToolCallFailed: well-formed (wellFormed), never cut inside a pair.
  return new McpGatewayError('MCP_CALL_CANCELLED', wellFormed(cutText(`the call was cancelled by its caller or with its session${why}`, 500)));
}

/**
 * The error of a call (or a registration's wait) that the gateway ended because its process shuts
 * down (McpGateway.endInFlight, at the drain's cut-off): 503 `DEPENDENCY_UNAVAILABLE`, with
 * `Retry-After: 1` when sending it again is the remedy (another replica answers); on `/mcp` a
 * JSON-RPC error with that code in `data.code`. `done`: what was done all the same (a server
 * registered), which a retry would not do again: no Retry-After then, and `details` say what.
 * @example shuttingDownError() // a call: "this gateway is shutting down; send it again (…)"
 */
export function shuttingDownError(done?: { what: string; details: Record<string, unknown> }): McpGatewayError {
  if (done) return new McpGatewayError('DEPENDENCY_UNAVAILABLE', `this gateway is shutting down: ${done.what}`, { details: done.details });
  return new McpGatewayError('DEPENDENCY_UNAVAILABLE', 'this gateway is shutting down; send it again (another replica answers, or this one once restarted)', {
    details: { retryAfterSeconds: 1 },
  });
}

/**
 * `p`, or `signal`'s abort, whichever comes first: an abort rejects with cancelledError (the
 * gateway's own reason as it is). For waits that take no signal of their own (a connect shared by
 * every caller, a registration in flight): the wait is given up, the thing waited for goes on.
 */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal ? untilAborted(p, signal, () => cancelledError(signal)) : p;
}

/** One signal aborted when either of two is (with its reason); dispose() lets both go. AbortSignal.any's dependants of a long-lived signal are kept by it. */
export function eitherSignal(a: AbortSignal | undefined, b: AbortSignal): { signal: AbortSignal; dispose(): void } {
  if (!a) return { signal: b, dispose: () => {} };
  const ac = new AbortController();
  const fromA = () => ac.abort(a.reason);
  const fromB = () => ac.abort(b.reason);
  if (a.aborted) fromA();
  else if (b.aborted) fromB();
  else {
    a.addEventListener('abort', fromA, { once: true });
    b.addEventListener('abort', fromB, { once: true });
  }
  return {
    signal: ac.signal,
    dispose: () => {
      a.removeEventListener('abort', fromA);
      b.removeEventListener('abort', fromB);
    },
  };
}
