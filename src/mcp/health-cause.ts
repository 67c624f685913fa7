import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { McpHealthCauseSchema, type McpHealthCause } from '../../events/mcp.events';
import { McpGatewayError, UpstreamProtocolError } from './errors';

/** How a stdio upstream's process ended, as Node reports it ('exit'). */
export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** A system or Node.js error code (ECONNREFUSED, ENOENT, UND_ERR_CONNECT_TIMEOUT, CERT_HAS_EXPIRED…). */
const ERRNO = /^[A-Z][A-Z0-9_]{1,63}$/;

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && ERRNO.test(code) ? code : undefined;
}

/** The cause with the optional fields that are set (the event schema has no undefined values). */
function cause(kind: McpHealthCause['kind'], fields: Omit<Partial<McpHealthCause>, 'kind'> = {}): McpHealthCause {
  const out: McpHealthCause = { kind };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  // Whatever slipped through (a code that fits no rule) goes rather than failing the append.
  const parsed = McpHealthCauseSchema.safeParse(out);
  return parsed.success ? parsed.data : { kind };
}

/** How a stdio upstream's process ended, as a cause: its signal, else its exit code. */
export function exitCause(exit: ExitStatus): McpHealthCause {
  return exit.signal ? cause('exited', { signal: exit.signal }) : cause('exited', { exitCode: exit.code ?? undefined });
}

/**
 * What the gateway itself can say of why connecting to (or pinging, or calling) an upstream
 * failed: the failure's kind and its numbers and codes only, taken from the error's type, the
 * gateway's classification (Upstream.classify), the HTTP status, the system error code and the
 * process's exit, never from a message (which may quote the upstream). An McpError on its own is
 * what the upstream answered, whatever its code: a timeout or a lost connection is the gateway's
 * MCP_UPSTREAM_TIMEOUT or MCP_UPSTREAM_UNAVAILABLE wrapping the SDK's error, as the SDK's
 * RequestTimeout (-32001) and ConnectionClosed (-32000) share their codes with what an upstream
 * may answer. `exit`: how the stdio server's process ended, if it did.
 * @example
 * const closed = new McpError(ErrorCode.ConnectionClosed, 'Connection closed');
 * healthCauseOf(new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', 'crm: the connection closed: the process exited with code 7', { cause: closed }), { code: 7, signal: null }) // { kind: 'exited', exitCode: 7 }
 * healthCauseOf(closed) // { kind: 'protocol-error', rpcCode: -32000 }: the upstream answered it
 */
export function healthCauseOf(err: unknown, exit?: ExitStatus): McpHealthCause {
  if (err instanceof UpstreamProtocolError) return cause('protocol-error', { rpcCode: err.rpcCode });
  if (err instanceof McpGatewayError) {
    const variable = err.details?.variable;
    if (typeof variable === 'string') return cause(err.details?.problem === 'unusable' ? 'variable-unusable' : 'variable-unset', { variable });
    if (err.code === 'MCP_CIRCUIT_OPEN') return cause('circuit-open');
    if (err.code === 'MCP_UPSTREAM_TIMEOUT') {
      // The gateway's Deadline aborts with the SDK's form of a timeout, its length in `data`.
      const ms = err.cause instanceof McpError ? (err.cause.data as { timeout?: unknown } | undefined)?.timeout : undefined;
      return cause('timeout', { timeoutMs: typeof ms === 'number' && Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined });
    }
    // The SDK's ConnectionClosed, which the gateway judged its connection's end.
    if (err.cause instanceof McpError) return exit ? exitCause(exit) : cause('connection-closed');
    // Ours wrapping another (a transport's error): the wrapped one says what it was.
    return err.cause !== undefined ? healthCauseOf(err.cause, exit) : cause('other');
  }
  if (err instanceof McpError) return cause('protocol-error', { rpcCode: err.code });
  if (err instanceof StreamableHTTPError || err instanceof SseError) {
    const status = (err as { code?: unknown }).code;
    return typeof status === 'number' && status >= 100 && status <= 599 ? cause('http-status', { httpStatus: status }) : cause('unreachable');
  }
  const syscall = (err as { syscall?: unknown } | undefined)?.syscall;
  if (typeof syscall === 'string' && syscall.startsWith('spawn')) return cause('spawn-failed', { errno: errnoOf(err) });
  if (exit) return exitCause(exit);
  // undici's "fetch failed": why (refused, no such host, a certificate) is its cause's code.
  const inner = (err as { cause?: unknown } | undefined)?.cause;
  if (err instanceof TypeError && inner !== undefined) return cause('unreachable', { errno: errnoOf(inner) ?? errnoOf(err) });
  const errno = errnoOf(err);
  return errno ? cause('unreachable', { errno }) : cause('other');
}
