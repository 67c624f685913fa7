// Times in the viewer's own zone and numbers with their units, everywhere.

const dateTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const count = new Intl.NumberFormat();
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** @param {string|undefined} iso */
export const formatTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');
/** @param {string|undefined} iso */
export const formatClock = (iso) => (iso ? timeOnly.format(new Date(iso)) : '—');

/** The viewer's zone as the dates name it (e.g. GMT+5:30), for lists that show clock times only. */
export const zoneName = (now = new Date()) => dateTime.formatToParts(now).find((p) => p.type === 'timeZoneName')?.value ?? '';

/** @param {number} n @param {string} [unit] singular; "s" is appended for n ≠ 1 */
export function formatCount(n, unit) {
  if (unit === undefined) return count.format(n);
  return `${count.format(n)} ${unit}${n === 1 ? '' : 's'}`;
}

/** @param {number|undefined} ms */
export function formatDuration(ms) {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${decimal.format(ms * 1000)} µs`;
  if (ms < 1000) return `${decimal.format(ms)} ms`;
  if (ms < 60_000) return `${decimal.format(ms / 1000)} s`;
  if (ms < 3_600_000) return `${decimal.format(ms / 60_000)} min`;
  return `${decimal.format(ms / 3_600_000)} h`;
}

/** "12 s ago" relative to now. @param {string|undefined} iso @param {number} [now] */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '—';
  const ms = Math.max(0, now - Date.parse(iso));
  return ms < 1000 ? 'just now' : `${formatDuration(ms)} ago`;
}

/** @param {number} ratio 0..1 */
export const formatPercent = (ratio) => `${decimal.format(ratio * 100)} %`;

/**
 * An integer count of a token's smallest unit (decimal string) in the token's own units, exactly:
 * BigInt all the way, never a JS number (which rounds above 2^53).
 * formatUnits('1500000000000000000', 18, 'DEMO') → '1.5 DEMO'. Requires 0 ≤ decimals ≤ 255.
 * @param {string|undefined} raw @param {number} decimals @param {string} symbol
 */
export function formatUnits(raw, decimals, symbol) {
  if (raw === undefined || !/^\d+$/.test(String(raw)) || !Number.isInteger(decimals) || decimals < 0 || decimals > 255) return '—';
  const v = BigInt(raw);
  const base = 10n ** BigInt(decimals);
  const frac = decimals === 0 ? '' : (v % base).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${count.format(v / base)}${frac ? `.${frac}` : ''} ${symbol}`;
}

/** Wei (decimal string) as ETH with its unit, keeping the exact wei. @param {string|undefined} wei */
export function formatWei(wei) {
  if (wei === undefined || !/^\d+$/.test(String(wei))) return '—';
  const v = BigInt(wei);
  if (v === 0n) return '0 ETH';
  return `${formatUnits(String(wei), 18, 'ETH')} (${count.format(v)} wei)`;
}

/** 0x1234…abcd for narrow cells; the full value goes in a title. @param {string|undefined} hex */
export const short = (hex, keep = 6) => (!hex ? '—' : hex.length <= 2 * keep + 3 ? hex : `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}`);
