/**
 * The header Prometheus sends with every scrape, its `scrape_timeout` in seconds (so do scrapers
 * built on its code: Grafana Alloy, the OpenTelemetry collector's prometheus receiver).
 */
export const SCRAPE_TIMEOUT_HEADER = 'x-prometheus-scrape-timeout-seconds';

/**
 * How long a gauge's read may take at scrape time when the scraper does not say its timeout: half
 * of Prometheus' default scrape_timeout (10 s).
 */
export const SCRAPE_READ_TIMEOUT_MS = 5000;

/** At most this long, whatever the header asks: /metrics is public. */
const MAX_SCRAPE_READ_TIMEOUT_MS = 60_000;

/**
 * The read budgets of the scrapes under way. Not an AsyncLocalStorage: on Node 20 its first use
 * turns on promise tracking for the whole process, for good, and every request paid about 30 µs of
 * CPU for it from the first scrape on (docs/benchmarks.md). Scrapes that overlap share the shortest
 * budget among them, which keeps each within its own.
 */
const active = new Map<symbol, number>();

/**
 * The read timeout of one scrape: half the scraper's own timeout (the reads of a scrape run side by
 * side, and its answer still has to be written and sent before the scraper gives up on it, losing
 * every metric), or SCRAPE_READ_TIMEOUT_MS when the header is missing or not a positive number of seconds.
 * @example scrapeReadTimeoutMs('10') === 5000; scrapeReadTimeoutMs('2') === 1000; scrapeReadTimeoutMs(undefined) === 5000
 */
export function scrapeReadTimeoutMs(header: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isFinite(seconds) || seconds <= 0) return SCRAPE_READ_TIMEOUT_MS;
  return Math.min(MAX_SCRAPE_READ_TIMEOUT_MS, Math.max(1, Math.floor(seconds * 500)));
}

/**
 * Run a scrape (`registry.metrics()`) whose scrape-time reads (scrapeReader) give up after `timeoutMs`.
 * @example await withScrapeReadTimeout(scrapeReadTimeoutMs(request.headers[SCRAPE_TIMEOUT_HEADER]), () => registry.metrics())
 */
export async function withScrapeReadTimeout<T>(timeoutMs: number, scrape: () => Promise<T>): Promise<T> {
  const token = Symbol('scrape');
  active.set(token, timeoutMs);
  try {
    return await scrape();
  } finally {
    active.delete(token);
  }
}

/** The read timeout of the scrapes under way (withScrapeReadTimeout; the shortest, when they overlap), else SCRAPE_READ_TIMEOUT_MS. */
export function currentScrapeReadTimeoutMs(): number {
  return active.size === 0 ? SCRAPE_READ_TIMEOUT_MS : Math.min(...active.values());
}
