import { OpenMcpError, UnavailableError, WrongExpectedRevisionError } from '../../core/errors';
import type { ExpectedRevision } from '../port';

/** KurrentDB answered with an error that is neither a conflict nor an outage (access denied, bad data…). */
export class KurrentDbError extends OpenMcpError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('KURRENTDB_FAILED', `kurrentdb: ${message}`, { status: 500, ...opts });
  }
}

// 'cancelled': the adapter never cancels a call itself, so a cancelled one means the server (or
// the connection) went away under it, as a restart does to the client's open BatchAppend stream.
const OUTAGE_TYPES = new Set(['unavailable', 'deadline-exceeded', 'not-leader', 'timeout', 'cancelled']);
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

type ClientError = { type?: string; code?: number; name?: string; message?: string; actualState?: unknown; maxAppendSize?: number };

/** Errors from the native bridge carry only a class name as message; the `type` reads better. */
function describe(e: ClientError, err: unknown): string {
  const bare = !e.message || /^[A-Z]\w*Error$/.test(e.message);
  if (bare && e.type) return e.type.replace(/-/g, ' ');
  return e.message || e.name || String(err);
}

/**
 * Translate a client error into the product's errors: a version conflict becomes
 * WrongExpectedRevisionError, an unreachable server UnavailableError, anything else KurrentDbError.
 */
export function toStoreError(
  err: unknown,
  context: { op: string; stream?: string; expected?: ExpectedRevision },
): OpenMcpError {
  if (err instanceof OpenMcpError) return err;
  const e = (err ?? {}) as ClientError;
  const message = `${context.op}${context.stream ? ` ${context.stream}` : ''}: ${describe(e, err)}`;
  if (e.type === 'wrong-expected-version' && context.stream !== undefined) {
    return new WrongExpectedRevisionError(context.stream, String(context.expected ?? 'any'), String(e.actualState ?? 'unknown'));
  }
  if (e.type === 'maximum-append-size-exceeded') {
    // The server's MaxAppendSize is below this append: the caller's input is too large, as
    // EVENT_TOO_LARGE says where an event is made (set MaxAppendSize above MAX_EVENT_BYTES).
    return new OpenMcpError('EVENT_TOO_LARGE', `kurrentdb: ${context.op}${context.stream ? ` ${context.stream}` : ''}: over the server's MaxAppendSize of ${e.maxAppendSize ?? '?'} bytes`, {
      status: 413,
      cause: err,
      details: { stream: context.stream, maxAppendSize: e.maxAppendSize },
    });
  }
  if ((e.type && OUTAGE_TYPES.has(e.type)) || e.code === GRPC_UNAVAILABLE || e.code === GRPC_DEADLINE_EXCEEDED) {
    return new UnavailableError('kurrentdb', message, err);
  }
  return new KurrentDbError(message, { cause: err, details: { op: context.op, type: e.type ?? e.name ?? 'unknown' } });
}
