import { Counter, type Registry } from 'prom-client';
import { NO_ANSWER, within } from '../core/within';
import { currentScrapeReadTimeoutMs } from './scrape-budget';

export const METRIC_READ_FAILURES_METRIC = 'openmcp_metric_read_failures_total';

type Failures = { counter: Counter<'metric'>; pending: Set<Promise<unknown>> };
const perRegistry = new WeakMap<Registry, Failures>();

function failuresOn(registry: Registry): Failures {
  let f = perRegistry.get(registry);
  if (f && registry.getSingleMetric(METRIC_READ_FAILURES_METRIC) === f.counter) return f;
  const pending = new Set<Promise<unknown>>();
  const counter =
    (registry.getSingleMetric(METRIC_READ_FAILURES_METRIC) as Counter<'metric'> | undefined) ??
    new Counter({
      name: METRIC_READ_FAILURES_METRIC,
      help: 'Scrape-time reads behind a gauge that failed or gave no answer in half the scrape timeout (X-Prometheus-Scrape-Timeout-Seconds; 5 s without it), its store down or hung; that gauge reports NaN (unknown) in that scrape.',
      labelNames: ['metric'],
      registers: [registry],
      async collect() {
        // registry.metrics() starts every collect() in one synchronous loop: after one turn, this
        // scrape's reads have all begun, so waiting for them counts their failures in this scrape.
        await Promise.resolve();
        await Promise.allSettled([...pending]);
      },
    });
  f = { counter, pending };
  perRegistry.set(registry, f);
  return f;
}

/**
 * Wrap the read behind a gauge's collect(). A collect() that throws makes prom-client reject the
 * whole registry.metrics() (and /metrics answer an error), and one that hangs makes Prometheus
 * time the scrape out: either way every metric of the process is lost exactly during the outage
 * operators need them for. The wrapped read resolves to undefined instead when the read fails or
 * has not answered in `timeoutMs` (default: the scrape's, see withScrapeReadTimeout; 5 s outside
 * one), and counts that in `openmcp_metric_read_failures_total{metric}`
 * once per name in `metrics`; the gauge then reports NaN (unknown: threshold alerts do not fire,
 * `absent()` stays false, a dashboard shows a gap). While a read hangs, later scrapes wait on the
 * same one rather than pile up more.
 * @example
 * const read = scrapeReader(registry, ['openmcp_x_lag_events'], () => eventsAfter(store, checkpoint));
 * new Gauge({ ..., async collect() { this.set((await read()) ?? NaN); } });
 */
export function scrapeReader<T>(
  registry: Registry,
  metrics: readonly string[],
  read: () => Promise<T>,
  timeoutMs?: number,
): () => Promise<T | undefined> {
  const failures = failuresOn(registry);
  // Start each series at 0, so increase() sees the first failure too.
  for (const metric of metrics) failures.counter.inc({ metric }, 0);
  let inFlight: Promise<T> | undefined;

  async function attempt(): Promise<T | undefined> {
    if (!inFlight) {
      const started: Promise<T> = (async () => read())().finally(() => {
        if (inFlight === started) inFlight = undefined;
      });
      inFlight = started;
    }
    try {
      const answer = await within(timeoutMs ?? currentScrapeReadTimeoutMs(), inFlight);
      if (answer !== NO_ANSWER) return answer;
    } catch {
      // a failed read counts as one with no answer
    }
    for (const metric of metrics) failures.counter.inc({ metric });
    return undefined;
  }

  return () => {
    const a = attempt();
    failures.pending.add(a);
    void a.finally(() => failures.pending.delete(a));
    return a;
  };
}
