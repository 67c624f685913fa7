import { hostname } from 'node:os';
import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config';
import { UnavailableError, redactUrl, redactUrlsIn } from '../core/errors';
import { loadOptional } from '../core/load-optional';
import { diagToLogger, type DiagToLoggerOptions } from './diag-to-logger';

/** Name of the tracer every span of the product comes from. */
export const TRACER_NAME = 'openmcp';

/**
 * How long the last flush may take at shutdown. It ends a drain (SHUTDOWN_DEADLINE_MS, 10 s by
 * default): against a collector that does not answer, the OTLP exporter's own timeouts and retries
 * took ~8 s of it, so every restart waited and a drain with anything else to do passed its deadline.
 */
const SHUTDOWN_FLUSH_MS = 2_000;

export type Tracing = {
  /** False when no endpoint (or exporter) is configured: every helper is then a no-op. */
  enabled: boolean;
  tracer: Tracer;
  /** Export what is buffered now (tests, and before a planned exit). */
  forceFlush(): Promise<void>;
  /**
   * Flush and stop; the process-wide registration is undone so tracing can be set up again. A flush
   * the collector has not taken within the flush window is given up, and one it refused is not
   * retried: either rejects DEPENDENCY_UNAVAILABLE naming the collector's URL.
   */
  shutdown(): Promise<void>;
};

export type InitTracingOptions = {
  /** Export here instead of OTLP (tests: an InMemorySpanExporter); turns tracing on. */
  exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests). */
  simple?: boolean;
  /** Longest wait for the last flush at shutdown (default SHUTDOWN_FLUSH_MS; tests wait less). */
  shutdownFlushMs?: number;
  /**
   * Where the SDK's warnings and errors go (a failed export, spans dropped), `component: tracing`,
   * at most one line a minute of each kind; only when tracing is on. Without it they went nowhere.
   */
  logger?: Logger;
  /** Passed to diagToLogger (tests). */
  diag?: DiagToLoggerOptions;
};

/**
 * Turn on OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans go over OTLP/HTTP
 * to `<endpoint>/v1/traces`), otherwise return a no-op tracer. Registers the provider process-wide
 * with AsyncLocalStorage context and the W3C trace-context propagator, so call it once, first.
 * Resource: service.name = OTEL_SERVICE_NAME, `openmcp.roles` = OPENMCP_ROLES, instance = host:pid.
 * @example const tracing = initTracing(config); … await tracing.shutdown();
 */
export function initTracing(
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME' | 'OPENMCP_ROLES'>,
  options: InitTracingOptions = {},
): Tracing {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint && !options.exporter) {
    return { enabled: false, tracer: trace.getTracer(TRACER_NAME), forceFlush: async () => {}, shutdown: async () => {} };
  }
  // Loaded only when tracing is on: the SDK and its exporter took ~170 ms of every start-up without it.
  const otel = loadOptional('OTEL_EXPORTER_OTLP_ENDPOINT', () => ({
    sdk: require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node'),
    core: require('@opentelemetry/core') as typeof import('@opentelemetry/core'),
    resources: require('@opentelemetry/resources') as typeof import('@opentelemetry/resources'),
    semconv: require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions'),
    otlp: options.exporter ? undefined : (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')),
  }));
  const { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor } = otel.sdk;
  const { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = otel.semconv;
  const url = endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : 'the configured exporter';
  const exporter = options.exporter ?? new otel.otlp!.OTLPTraceExporter({ url });
  const shownUrl = redactUrl(url);
  const provider = new NodeTracerProvider({
    resource: otel.resources.resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME,
      [ATTR_SERVICE_VERSION]: process.env.npm_package_version ?? '0.1.0',
      [ATTR_SERVICE_INSTANCE_ID]: `${hostname()}:${process.pid}`,
      'openmcp.roles': config.OPENMCP_ROLES,
    }),
    spanProcessors: [options.simple ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  // The W3C trace context only (traceparent, tracestate): register()'s default also carries W3C
  // baggage, which took a caller's `baggage` header, whatever it held, into the stored trace
  // contexts and onto every Kafka message of the request's events, a header the topic contract
  // does not have (docs/consumers.md).
  provider.register({ propagator: new otel.core.W3CTraceContextPropagator() });
  // Without a diag logger the SDK says nothing: spans it failed to export while the process ran were
  // dropped without a line (only the last flush at shutdown said so).
  if (options.logger) diag.setLogger(diagToLogger(options.logger, options.diag), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return {
    enabled: true,
    tracer: trace.getTracer(TRACER_NAME),
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      const flushMs = options.shutdownFlushMs ?? SHUTDOWN_FLUSH_MS;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), flushMs);
        timer.unref();
      });
      try {
        // The provider goes on trying in the background; the process exits without it.
        const outcome = await Promise.race([provider.shutdown().then(() => ({ refused: false as const }), (err: unknown) => ({ refused: true as const, err })), gaveUp]);
        if (outcome === true) {
          throw new UnavailableError('tracing', `the spans still queued were not exported: the collector at ${shownUrl} (OTEL_EXPORTER_OTLP_ENDPOINT) did not take them within ${flushMs} ms`);
        }
        // Refused at once (a wrong path's 404, a refused token's 401): said as the timeout is, naming where.
        if (outcome.refused) {
          const why = redactUrlsIn(outcome.err instanceof Error ? outcome.err.message : String(outcome.err));
          throw new UnavailableError('tracing', `the spans still queued were not exported: the collector at ${shownUrl} (OTEL_EXPORTER_OTLP_ENDPOINT) refused them: ${why}`, outcome.err);
        }
      } finally {
        clearTimeout(timer);
        trace.disable();
        context.disable();
        propagation.disable();
        if (options.logger) diag.disable();
      }
    },
  };
}
