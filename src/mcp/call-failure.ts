import { z } from 'zod';
import { redactUrlsIn } from '../core/errors';
import type { PayloadPolicy } from './audit';
import { McpGatewayError, UpstreamProtocolError } from './errors';
import { healthCauseText } from '../../events/mcp-health-reason';
import { healthCauseOf, type ExitStatus } from './health-cause';
import { payloadDigest } from './payload-hash';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../erasure/salted-hash';

/**
 * What a recorded failure says in place of the message it leaves out (hash-only, encrypted).
 * Under `encrypted` it says why too: that policy seals payloads, which a reader may expect of the
 * error as well, but an error's text is left out as under `hash-only`, not sealed.
 */
export const callMessageWithheld = (policy: PayloadPolicy) => `message withheld (MCP_PAYLOAD_POLICY=${policy === 'encrypted' ? 'encrypted: error texts are not recorded' : policy})`;

/**
 * An answer the gateway's MCP client could not read: a body that is not JSON (the parser's error
 * quotes it), or JSON that is not the shape MCP requires (zod's error names the fields). Told by
 * the error's type, anywhere in its cause chain.
 */
function unreadableAnswer(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SyntaxError || e instanceof z.core.$ZodError) return true;
  }
  return false;
}

/** How the stdio upstream's process had ended when the call failed, as Upstream.classify noted it. */
function exitOf(e: McpGatewayError): ExitStatus | undefined {
  const exit = e.details?.exit as Partial<ExitStatus> | undefined;
  if (!exit || typeof exit !== 'object') return undefined;
  return { code: typeof exit.code === 'number' ? exit.code : null, signal: typeof exit.signal === 'string' ? (exit.signal as NodeJS.Signals) : null };
}

/**
 * Why a call failed, in the gateway's own words only: from the error's code and healthCauseOf's
 * classification of what it wraps (an exit code, a system error code, an HTTP status, a timeout),
 * never from a message, which may quote the upstream (its JSON-RPC error, its stderr, SDK text
 * repeating its answer) or the caller (a cancellation's reason).
 * @example callFailureText(new McpGatewayError('MCP_CIRCUIT_OPEN', 'crm: circuit open …')) // 'circuit open after repeated failures'
 */
export function callFailureText(e: McpGatewayError): string {
  switch (e.code) {
    case 'MCP_CALL_CANCELLED':
      return 'the call was cancelled by its caller or with its session';
    case 'MCP_CIRCUIT_OPEN':
      return 'circuit open after repeated failures';
    case 'MCP_UPSTREAM_BUSY':
      return 'too many calls in flight and queued';
    // The gateway's own (shuttingDownError, a drain's cut-off): nothing of the upstream's.
    case 'DEPENDENCY_UNAVAILABLE':
      return 'the gateway was shutting down';
  }
  if (e instanceof UpstreamProtocolError) return `the upstream answered JSON-RPC error ${e.rpcCode}`;
  if (unreadableAnswer(e.cause)) return "the upstream's answer could not be read (not JSON, or not the shape MCP requires)";
  const cause = healthCauseOf(e, exitOf(e));
  if (cause.kind === 'other' && e.code === 'MCP_UPSTREAM_UNAVAILABLE' && e.cause === undefined) return 'the upstream is not connected';
  return healthCauseText(cause);
}

/** The SHA-256 a hash-only ToolCallFailed keeps of the message it leaves out: of the message's canonical JSON, as the caller was told it. */
export function withheldMessageHash(e: McpGatewayError): string {
  return payloadDigest(e.message).hash;
}

/**
 * The digest a recorded failure keeps of the message it leaves out, as written in its text: under
 * `hash-only`, `sha256 <SHA-256>`; under `encrypted`, `hmac-sha256-salted-v1 <HMAC-SHA256 keyed by
 * salt>` (the salt sealed alone under the subject's key, ToolCallFailed v2, so that after an erasure
 * it confirms no guess of the message), or no digest at all without a salt: never the plain SHA-256.
 */
export function withheldDigest(e: McpGatewayError, policy: PayloadPolicy, salt?: Buffer | string): { text: string; hash: string; scheme?: typeof PAYLOAD_HASH_SCHEME } | undefined {
  if (policy !== 'encrypted') {
    const hash = withheldMessageHash(e);
    return { text: `sha256 ${hash}`, hash };
  }
  if (salt === undefined) return undefined;
  const hash = saltedPayloadHash(salt, payloadDigest(e.message).json);
  return { text: `${PAYLOAD_HASH_SCHEME} ${hash}`, hash, scheme: PAYLOAD_HASH_SCHEME };
}

/**
 * The error of a failed call as ToolCallFailed (and the agent's TaskStepFailed) records it.
 * `store`: the message the caller was told (an upstream's JSON-RPC error as `<code>: <message>`),
 * with a URL's credentials redacted. `hash-only`: no text but the gateway's own, as no result is
 * kept either: the message may quote the upstream (its JSON-RPC error message, its stderr line,
 * SDK text repeating its answer), which commonly echoes the arguments and may hold its secrets,
 * and a log cannot be edited later. What stands in its place is the code, the gateway's words for
 * the failure (callFailureText) and the SHA-256 of the message (of its canonical JSON, as
 * payloads are hashed), so whoever holds the message can show it was the one; under `encrypted`
 * the same, the digest salted with `salt` (withheldDigest). An upstream's JSON-RPC error keeps
 * the form it always had. The caller is still told the whole error.
 * @example failureOf(new UpstreamProtocolError(-32602, 'no such account: 4711'), 'hash-only').message // '-32602: upstream error message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 0x…'
 */
export function failureOf(e: McpGatewayError, policy: PayloadPolicy, salt?: Buffer | string): { code: string; message: string } {
  if (policy === 'store') return { code: e.code, message: redactUrlsIn(e instanceof UpstreamProtocolError ? `${e.rpcCode}: ${e.message}` : e.message) };
  const d = withheldDigest(e, policy, salt);
  const digest = d ? `, ${d.text}` : '';
  if (e instanceof UpstreamProtocolError) return { code: e.code, message: `${e.rpcCode}: upstream error ${callMessageWithheld(policy)}${digest}` };
  return { code: e.code, message: `${callFailureText(e)}; ${callMessageWithheld(policy)}${digest}` };
}
