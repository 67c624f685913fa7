import type { McpHealthCause } from '../../events/mcp.events';
import { redactUrlsIn } from '../core/errors';
import type { PayloadPolicy } from './audit';
import { payloadDigest } from './payload-hash';
import { cutText, wellFormed } from '../core/well-formed';

/** Why an upstream went down: the reason in words (it may quote the upstream), and the gateway's own classification of it. */
export type HealthFailure = { reason: string; cause: McpHealthCause };

/** The longest reason McpServerHealthChanged v1 holds. */
export const MAX_HEALTH_REASON_CHARS = 2000;

/**
 * What McpServerHealthChanged records of a change under the payload policy. `store`: v1 with the
 * reason, a URL's credentials redacted, then cut to v1's 2,000 characters (in that order: a cut
 * inside a URL would leave its password where redaction no longer finds it, and redaction can
 * lengthen a reason past what v1 holds). `hash-only`: the reason may quote the upstream (its
 * stderr, its error message), so a change with one is v2 with the gateway's `cause` and the
 * digest of the whole reason, URL credentials redacted (`reasonHash`, as the gateway's own log
 * has it), instead. A change without a reason (up) is v1 either way.
 * @example healthChangeEvent('down', { reason: 'x: ...', cause: { kind: 'exited', exitCode: 1 } }, 'hash-only') // { version: 2, data: { status: 'down', cause: {…}, reasonHash: '0x…' } }
 */
export function healthChangeEvent(
  status: 'up' | 'down',
  failure: HealthFailure | undefined,
  policy: PayloadPolicy,
): { version: 1 | 2; data: Record<string, unknown> } {
  if (!failure) return { version: 1, data: { status } };
  // Kept as it came, but for a URL's credentials (a DSN in a stderr line), as every recorded or logged message.
  const reason = redactUrlsIn(failure.reason);
  if (policy === 'store') return { version: 1, data: { status, reason: wellFormed(cutText(reason, MAX_HEALTH_REASON_CHARS)) } };
  return { version: 2, data: { status, cause: failure.cause, reasonHash: payloadDigest(reason).hash } };
}

/**
 * The variable of the gateway's own environment whose absence (or unusable value) alone kept it
 * from the upstream, if that was the failure: this gateway's configuration, not the server's health,
 * so a replica does not record it (another replica, given the variable, may reach the server).
 * @example ownVariableOf({ reason: '…', cause: { kind: 'variable-unset', variable: 'GITHUB_TOKEN' } }) // 'GITHUB_TOKEN'
 */
export function ownVariableOf(failure: HealthFailure | undefined): string | undefined {
  const cause = failure?.cause;
  return cause && (cause.kind === 'variable-unset' || cause.kind === 'variable-unusable') ? cause.variable : undefined;
}
