import type { CheckResult } from '../proofs/verify-proof';

export type Writer = (line: string) => void;

/**
 * Print each check as a ✔/✘ line, then each warning; returns 0 when all passed, else 1 after
 * naming the first failure.
 */
export function printChecks(results: CheckResult[], out: Writer, subject: string, warnings: string[] = []): number {
  for (const r of results) out(`${r.ok ? '✔' : '✘'} ${r.name}: ${r.detail}`);
  for (const w of warnings) out(`WARNING: ${w}`);
  const failed = results.find((r) => !r.ok);
  if (failed) {
    out(`FAILED: ${failed.name} (${subject})`);
    return 1;
  }
  out(`OK: ${subject}`);
  return 0;
}
