import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { TRACER_NAME } from './init-tracing';

export type WithSpanOptions = { kind?: SpanKind; attributes?: Attributes; parent?: Context };

/**
 * Run `fn` inside a new active span named `name` (a child of the active span, or of `parent`),
 * ending it when `fn` settles; a throw is recorded on the span and rethrown unchanged.
 * A no-op span when tracing is off, so callers never need to check.
 * @example await withSpan('sealer.seal', { attributes: { 'openmcp.batch_id': 3 } }, () => seal())
 */
export function withSpan<T>(name: string, options: WithSpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const run = (span: Span) =>
    fn(span).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.end();
        throw err;
      },
    );
  const opts = { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes };
  return options.parent ? tracer.startActiveSpan(name, opts, options.parent, run) : tracer.startActiveSpan(name, opts, run);
}
