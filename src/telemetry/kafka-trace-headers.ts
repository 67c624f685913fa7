import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { TRACER_NAME } from './init-tracing';

const headerGetter = {
  keys: (carrier: IHeaders) => Object.keys(carrier),
  get(carrier: IHeaders, key: string): string | undefined {
    const v = carrier[key] ?? carrier[Object.keys(carrier).find((k) => k.toLowerCase() === key) ?? ''];
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  },
};

/**
 * Write the W3C `traceparent` (and `tracestate`) of `ctx` (default: the active context) into Kafka
 * message headers, beside the topic contract's own headers. Returns `headers`; unchanged when no
 * span is active or tracing is off.
 * @example const message = toKafkaMessage(event); injectTraceHeaders(message.headers!);
 */
export function injectTraceHeaders(headers: IHeaders, ctx: Context = context.active()): IHeaders {
  propagation.inject(ctx, headers);
  return headers;
}

/**
 * The trace context carried by a consumed message's headers (kafkajs gives Buffers), as a parent
 * for the consumer's spans; undefined when the message carries none.
 * @example const parent = extractTraceContext(message.headers ?? {})
 */
export function extractTraceContext(headers: IHeaders | undefined): Context | undefined {
  if (!headers) return undefined;
  const ctx = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? ctx : undefined;
}

export type MessageSpans = {
  /** End every span: after Kafka acknowledged (publish) or the handler finished (consume). */
  end(err?: unknown): void;
  /** The first span's context (run the handler in it so its own spans join that trace), or undefined when none was started. */
  context?: Context;
};

function messagingSpans(spans: Span[]): MessageSpans {
  return {
    context: spans.length ? trace.setSpan(context.active(), spans[0]) : undefined,
    end(err) {
      for (const s of spans) {
        if (err !== undefined) {
          s.recordException(err instanceof Error ? err : String(err));
          s.setStatus({ code: SpanStatusCode.ERROR });
        }
        s.end();
      }
    },
  };
}

/**
 * Relay side: for each message whose event has a trace context (`parents[i]`, e.g. from
 * EventTraceContexts.recall), start a PRODUCER span `<topic> publish` in that trace and write its
 * traceparent into the message's headers, so consumers continue the trace. Messages without a
 * parent get no span and no header. End the spans when the send settles.
 */
export function startPublishSpans(topic: string, messages: Array<{ headers?: IHeaders }>, parents: Array<Context | undefined>): MessageSpans {
  const tracer = trace.getTracer(TRACER_NAME);
  const spans: Span[] = [];
  messages.forEach((m, i) => {
    const parent = parents[i];
    if (!parent) return;
    const span = tracer.startSpan(
      `${topic} publish`,
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'send' } },
      parent,
    );
    m.headers ??= {};
    injectTraceHeaders(m.headers, trace.setSpan(parent, span));
    spans.push(span);
  });
  return messagingSpans(spans);
}

/**
 * Consumer side (projector, agent): for each consumed message that carries a trace context, start
 * a CONSUMER span `<topic> process` (named `<topic> <operation>`) as its child; end them when the
 * handler is done. Messages without trace headers get none.
 */
export function startConsumeSpans(topic: string, group: string, headers: Array<IHeaders | undefined>): MessageSpans {
  const tracer = trace.getTracer(TRACER_NAME);
  const spans: Span[] = [];
  for (const h of headers) {
    const parent = extractTraceContext(h);
    if (!parent) continue;
    spans.push(
      tracer.startSpan(
        `${topic} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.consumer.group.name': group, 'messaging.operation.type': 'process' },
        },
        parent,
      ),
    );
  }
  return messagingSpans(spans);
}
