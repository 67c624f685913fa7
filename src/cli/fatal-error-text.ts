import { OpenMcpError, redactUrlsIn } from '../core/errors';

/**
 * What `openmcp` prints for an error that ends a command: one line `openmcp: CODE: message` for
 * our own errors and for those of the environment (a driver's or the system's `code`:
 * ECONNREFUSED, ER_ACCESS_DENIED_ERROR, …), which a person fixes from the message alone; with
 * its stack only for an error without a code — a bug, whose report needs the stack. URLs in it
 * are redacted: drivers repeat the one they failed on, credentials and all.
 */
export function fatalErrorText(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (err instanceof Error && (err instanceof OpenMcpError || typeof code === 'string')) return `openmcp: ${String(code)}: ${redactUrlsIn(err.message, { pathKeys: true })}`;
  return `openmcp: ${redactUrlsIn(err instanceof Error ? (err.stack ?? String(err)) : String(err), { pathKeys: true })}`;
}
