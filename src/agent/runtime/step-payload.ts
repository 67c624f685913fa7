import { OpenMcpError, redactUrlsIn } from '../../core/errors';
import type { PayloadPolicy } from '../../mcp/audit';
import { failureOf } from '../../mcp/call-failure';
import { McpGatewayError } from '../../mcp/errors';
import { cutText, wellFormed } from '../../core/well-formed';

/**
 * A failed tool call's error as TaskStepFailed records it (cut at 4000 characters). `policy` is the
 * gateway's MCP_PAYLOAD_POLICY as configured (the recorded words name it). Under `hash-only` and
 * `encrypted`, a gateway error takes the form the gateway gives it in ToolCallFailed (failureOf):
 * none of its text but the gateway's own (an upstream's JSON-RPC message, its stderr line, SDK
 * text quoting its answer commonly echo the arguments or hold the upstream's secrets), with the
 * message's digest (under `encrypted` salted with `salt`, the one the gateway sealed for the call). Other errors (step timeout, the runtime's own) carry no upstream text: kept
 * as they are. Whatever is kept has a URL's credentials redacted (and, but in an upstream's text,
 * an API key in a URL's path: a chain step's error quotes its RPC's URL).
 *
 * @example recordedFailure(new UpstreamProtocolError(-32602, 'no such account: 4711'), 'hash-only').message // '-32602: upstream error message withheld …'
 */
export function recordedFailure(err: unknown, policy: PayloadPolicy, salt?: Buffer): { code: string; message: string } {
  // Key-like path segments too, except in an upstream's text (its URLs may name ids it needs
  // read back): the runtime's own errors quote only the chain RPC's, whose path holds its API key.
  const pathKeys = !(err instanceof McpGatewayError);
  const f = policy !== 'store' && err instanceof McpGatewayError ? failureOf(err, policy, salt) : { code: err instanceof OpenMcpError ? err.code : 'TOOL_FAILED', message: redactUrlsIn((err as Error).message, { pathKeys }) };
  // An error's message may quote what the upstream or a parser said: well-formed, as events need (createEvent).
  return { code: f.code, message: wellFormed(cutText(f.message, 4000)) };
}

/**
 * What a resumed run has of a result its step's event does not hold (it is given to the model in
 * its place): the run that had it is gone, and the log kept only its hash.
 */
export function unkeptResultText(resultHash: string, scheme?: string): string {
  // Salted: sealed in the gateway's log, or (over 256 KiB) kept nowhere, its salt alone sealed (ToolCallCompleted v4).
  if (scheme) return `[the result (${scheme} ${resultHash}) is not kept in the task's log (MCP_PAYLOAD_POLICY=encrypted: only encrypted in the gateway's log, or nowhere over 256 KiB), and this run resumed the task after a restart, so it cannot be shown again]`;
  return `[the result (sha-256 ${resultHash}) is not kept in the task's log (MCP_PAYLOAD_POLICY=hash-only, or over 256 KiB), and this run resumed the task after a restart, so it cannot be shown again]`;
}
