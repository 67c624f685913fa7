/**
 * AuditAnchor's admin handover delay: the seconds between beginDefaultAdminTransfer() and the
 * earliest acceptDefaultAdminTransfer(). A day by default: long enough for whoever watches the
 * contract's events to notice a handover the admin did not mean (a stolen admin key) and cancel it
 * with the admin key, short enough for a planned rotation.
 */
export const DEFAULT_ADMIN_DELAY_SECONDS = 86_400;

/**
 * At most 30 days. Lowering a delay on chain takes as long as the difference (OpenZeppelin's
 * rule), so a slip such as milliseconds for seconds would hold every handover back for years.
 */
export const MAX_ADMIN_DELAY_SECONDS = 30 * 86_400;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * `"86400"`, `"90s"`, `"30m"`, `"12h"`, `"1d"` → seconds; undefined for anything else, a negative
 * or fractional value, or more than MAX_ADMIN_DELAY_SECONDS.
 *
 * @example parseAdminDelay('12h') // 43200
 */
export function parseAdminDelay(text: string): number | undefined {
  const m = /^(0|[1-9][0-9]{0,9})([smhd]?)$/.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] || 's') as keyof typeof UNIT_SECONDS];
  return seconds <= MAX_ADMIN_DELAY_SECONDS ? seconds : undefined;
}

/** Seconds in the largest unit that divides them: 86400 → "1d", 43200 → "12h", 90 → "90s", 0 → "none". */
export function formatAdminDelay(seconds: number): string {
  if (seconds === 0) return 'none';
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
