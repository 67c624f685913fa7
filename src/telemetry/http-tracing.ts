import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TRACER_NAME } from './init-tracing';

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * One SERVER span per HTTP request (`<METHOD> <route pattern>`), continuing the caller's trace when
 * the request carries a `traceparent`. The handler runs inside the span's context, so appends,
 * tool calls and log lines made for the request join its trace. Hooks go on `app` itself (not in
 * an encapsulated plugin) so every route has them; call before `app.ready()` / `listen`.
 * @example const app = await buildApp(deps); installHttpTracing(app);
 */
export function installHttpTracing(app: FastifyInstance): void {
  const tracer = trace.getTracer(TRACER_NAME);
  app.addHook('onRequest', (req, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const route = req.routeOptions.url;
    const span = tracer.startSpan(
      `${req.method} ${route ?? 'unmatched'}`,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_PATH]: req.url.split('?')[0], ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}) } },
      parent,
    );
    spans.set(req, span);
    // The rest of the request lifecycle is called from `done`, so it inherits this context.
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const span = spans.get(req);
    if (span) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      spans.delete(req);
    }
    done();
  });
}
