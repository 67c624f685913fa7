import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metrics every role shares, on one registry. Other contexts register their own metrics
 * (relay and projector lag, sealing and anchoring lag) on `registry` too, so /metrics shows all.
 */
export type Metrics = {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  appendDuration: Histogram<'store'>;
  errors: Counter<'code'>;
};

export type CreateMetricsOptions = { registry?: Registry; processMetrics?: boolean };

/** Create (or reuse, when `registry` already has them) the shared metrics. */
export function createMetrics(o: CreateMetricsOptions = {}): Metrics {
  const registry = o.registry ?? new Registry();
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  if (o.processMetrics && !registry.getSingleMetric('process_cpu_seconds_total')) collectDefaultMetrics({ register: registry });
  const httpDuration =
    existing<Metrics['httpDuration']>('openmcp_http_request_duration_seconds') ??
    new Histogram({
      name: 'openmcp_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and status code (a server-sent event stream once open is not observed: its lifetime is the client\'s session)',
      labelNames: ['method', 'route', 'status'] as const,
      // Up to 2 min: a /mcp tool call or a registration waits on its upstream (MCP_CALL_TIMEOUT_MS,
      // 30 s by default); with 5 s on top, every slow call fell in +Inf and each p99 read 5 s.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
  const appendDuration =
    existing<Metrics['appendDuration']>('openmcp_eventstore_append_duration_seconds') ??
    new Histogram({
      name: 'openmcp_eventstore_append_duration_seconds',
      help: 'Latency of EventStore.append (durable commit included)',
      labelNames: ['store'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
  const errors =
    existing<Metrics['errors']>('openmcp_errors_total') ??
    new Counter({
      name: 'openmcp_errors_total',
      help: 'Errors answered or raised, by stable error code (docs/errors.md)',
      labelNames: ['code'] as const,
      registers: [registry],
    });
  return { registry, httpDuration, appendDuration, errors };
}
