import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * pino `mixin`: adds `trace_id` and `span_id` of the active span to every log line, so a log
 * search finds the trace and the trace view finds its logs. Adds nothing outside a span.
 * @example pino({ level, mixin: traceLogMixin })
 */
export function traceLogMixin(): Record<string, string> {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
