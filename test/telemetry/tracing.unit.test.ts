import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import Fastify from 'fastify';
import type { IHeaders } from 'kafkajs';
import pino from 'pino';
import { MemoryCache } from '../../src/cache/memory';
import { ConfigSchema } from '../../src/config';
import { createEvent } from '../../src/core/envelope';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import {
  EventTraceContexts,
  extractTraceContext,
  initTracing,
  injectTraceHeaders,
  installHttpTracing,
  startConsumeSpans,
  startPublishSpans,
  traceAnchorTransaction,
  traceLlmCall,
  traceLogMixin,
  traceToolCall,
  tracedEventStore,
  withEventContext,
  withSpan,
  type Tracing,
} from '../../src/telemetry';

const base = ConfigSchema.parse({});
const actor = { kind: 'user' as const, id: 'u1' };

describe('tracing (in one process)', () => {
  let store: EventStore;
  before(async () => {
    store = await openSqlEventStore('sqlite::memory:');
  });
  after(async () => {
    await store.close();
  });

  describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    it('is off: no-op tracer, helpers pass values through, no trace headers, no log fields', async () => {
      const tracing = initTracing(base);
      expect(tracing.enabled).to.equal(false);
      const cache = new MemoryCache();
      const traced = tracedEventStore(store, new EventTraceContexts(cache));
      const r = await withSpan('outer', {}, async () =>
        traced.append('task-off1', [createEvent({ type: 'TaskSubmitted', stream: 'task-off1', tenant: 't', actor, data: {} })]),
      );
      expect(r.events).to.have.length(1);
      expect(await new EventTraceContexts(cache).recall(r.events[0].id)).to.equal(undefined);
      expect(injectTraceHeaders({})).to.deep.equal({});
      expect(traceLogMixin()).to.deep.equal({});
      expect(await traceLlmCall('m', async () => 42)).to.equal(42);
      await tracing.shutdown();
    });
  });

  describe('with an exporter', () => {
    let tracing: Tracing;
    let exporter: InMemorySpanExporter;
    beforeEach(() => {
      exporter = new InMemorySpanExporter();
      tracing = initTracing({ ...base, OTEL_SERVICE_NAME: 'test-api' }, { exporter, simple: true });
    });
    afterEach(async () => {
      await tracing.shutdown();
    });
    const byName = (spans: ReadableSpan[], name: string) => {
      const s = spans.find((x) => x.name === name);
      expect(s, `span ${name} in ${spans.map((x) => x.name).join(', ')}`).to.not.equal(undefined);
      return s!;
    };
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

    it('follows a request through HTTP, the append, the relay, a consumer, the LLM and tool calls and the anchoring, in one trace, with trace ids in the log', async () => {
      const cache = new MemoryCache();
      const contexts = new EventTraceContexts(cache);
      const traced = tracedEventStore(store, contexts);
      const lines: Array<Record<string, unknown>> = [];
      const logger = pino({ mixin: traceLogMixin }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));

      const app = Fastify();
      app.post('/v1/tasks/:id', async (req) => {
        const stream = `task-${(req.params as { id: string }).id}`;
        logger.info('submitting');
        const r = await traced.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 't', actor, data: {} })]);
        return { id: r.events[0].id };
      });
      installHttpTracing(app); // after the routes, as when buildApp(deps) has already added them
      const res = await app.inject({ method: 'POST', url: '/v1/tasks/h1' });
      expect(res.statusCode).to.equal(200);
      const eventId = res.json().id as string;
      await app.close();

      // The relay, later and outside the request: the event's remembered context is the parent.
      await new Promise((r) => setTimeout(r, 10)); // remember() is fire-and-forget
      const parent = await contexts.recall(eventId);
      const messages: Array<{ headers?: IHeaders }> = [{ headers: { 'event-id': eventId } }];
      startPublishSpans('openmcp.events.v1', messages, [parent]).end();
      expect(String(messages[0].headers!.traceparent)).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

      // A consumer: kafkajs hands headers over as Buffers.
      const received: IHeaders = Object.fromEntries(Object.entries(messages[0].headers!).map(([k, v]) => [k, Buffer.from(String(v))]));
      startConsumeSpans('openmcp.events.v1', 'openmcp-projector', [received, { 'event-id': Buffer.from('untraced') }]).end();

      // The agent and the anchorer react to the event in its trace.
      await withEventContext(contexts, eventId, async () => {
        await traceLlmCall('gpt-4o-mini', async (span) => span.setAttribute('gen_ai.usage.input_tokens', 12));
        await traceToolCall('examples__echo', async () => 'hi');
        await traceAnchorTransaction(0, async (span) => span.setAttribute('openmcp.tx_hash', '0xabc'));
      });

      const spans = exporter.getFinishedSpans();
      const http = byName(spans, 'POST /v1/tasks/:id');
      const append = byName(spans, 'eventstore.append');
      const publish = byName(spans, 'openmcp.events.v1 publish');
      const consume = spans.filter((s) => s.name === 'openmcp.events.v1 process');
      const llm = byName(spans, 'chat gpt-4o-mini');
      const tool = byName(spans, 'tools/call examples__echo');
      // The batch is an attribute, not part of the name (one span name per batch is one series per batch in span metrics).
      const anchor = byName(spans, 'anchor');
      expect(anchor.attributes['openmcp.batch_id']).to.equal(0);
      const traceId = http.spanContext().traceId;
      for (const s of [append, publish, ...consume, llm, tool, anchor]) expect(s.spanContext().traceId, s.name).to.equal(traceId);
      expect(consume, 'one consume span: the untraced message gets none').to.have.length(1);
      expect(parentOf(append)).to.equal(http.spanContext().spanId);
      expect(parentOf(publish)).to.equal(append.spanContext().spanId);
      expect(parentOf(consume[0])).to.equal(publish.spanContext().spanId);
      expect(parentOf(llm)).to.equal(append.spanContext().spanId);
      expect(http.attributes['http.response.status_code']).to.equal(200);
      expect(llm.attributes['gen_ai.usage.input_tokens']).to.equal(12);
      expect(http.resource.attributes['service.name']).to.equal('test-api');

      const logged = lines.find((l) => l.msg === 'submitting')!;
      expect(logged.trace_id).to.equal(traceId);
      expect(logged.span_id).to.equal(http.spanContext().spanId);
    });

    it('remembers an event\'s trace context before its append returns: a consumer that reads it at once continues the trace', async () => {
      // A cache whose writes land one tick late, as Redis answers: a write sent after the append
      // was not there yet when a fast consumer (the agent, in another process) asked for it.
      const cache = new MemoryCache();
      const set = cache.set.bind(cache);
      cache.set = (k, v, ttl) => new Promise<void>((resolve, reject) => setImmediate(() => set(k, v, ttl).then(resolve, reject)));
      const contexts = new EventTraceContexts(cache);
      const slowStore: EventStore = { ...store, append: async (stream, events, options) => {
        const r = await store.append(stream, events, options);
        await new Promise((resolve) => setImmediate(resolve)); // the database's round trip
        return r;
      } };
      const traced = tracedEventStore(slowStore, contexts);
      const r = await withSpan('request', {}, () => traced.append('task-early1', [createEvent({ type: 'TaskSubmitted', stream: 'task-early1', tenant: 't', actor, data: {} })]));
      const ctx = await contexts.recall(r.events[0].id);
      expect(ctx, 'no trace context for the event when its append returned').to.not.equal(undefined);
      expect(trace.getSpanContext(ctx!)?.traceId).to.equal(byName(exporter.getFinishedSpans(), 'request').spanContext().traceId);
    });

    it('records a failed call on its span and rethrows the same error', async () => {
      const err = new Error('tool down');
      const thrown = await traceToolCall('t', async () => Promise.reject(err)).catch((e) => e);
      expect(thrown).to.equal(err);
      const span = exporter.getFinishedSpans().find((s) => s.name === 'tools/call t')!;
      expect(span.status.code).to.equal(2); // ERROR
      expect(span.events.map((e) => e.name)).to.include('exception');
    });

    it('continues a caller trace given in the request traceparent header and marks 5xx responses as errors', async () => {
      const app = Fastify();
      app.get('/boom', async () => {
        throw new Error('x');
      });
      installHttpTracing(app);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await app.inject({ method: 'GET', url: '/boom', headers: { traceparent } });
      await app.close();
      const span = exporter.getFinishedSpans().find((s) => s.name === 'GET /boom')!;
      expect(span.spanContext().traceId).to.equal('0af7651916cd43dd8448eb211c80319c');
      expect(parentOf(span)).to.equal('b7ad6b7169203331');
      expect(span.status.code).to.equal(2);
    });

    it("passes on the trace context only: a caller's W3C `baggage` header reaches neither the stored context nor the Kafka headers (docs/consumers.md lists traceparent and tracestate)", async () => {
      const contexts = new EventTraceContexts(new MemoryCache());
      const traced = tracedEventStore(store, contexts);
      const app = Fastify();
      app.post('/v1/tasks', async () => {
        const r = await traced.append('task-bag1', [createEvent({ type: 'TaskSubmitted', stream: 'task-bag1', tenant: 't', actor, data: {} })]);
        return { id: r.events[0].id };
      });
      installHttpTracing(app);
      const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=x', baggage: 'userId=alice,secret=s3cr3t' };
      const { id } = (await app.inject({ method: 'POST', url: '/v1/tasks', headers })).json() as { id: string };
      await app.close();
      await new Promise((r) => setImmediate(r)); // remember() is fire-and-forget
      const message = { headers: {} as IHeaders };
      const spans = startPublishSpans('t.events.v1', [message], [await contexts.recall(id)]);
      spans.end();
      expect(Object.keys(message.headers).sort()).to.deep.equal(['traceparent', 'tracestate']);
      expect(String(message.headers.traceparent)).to.match(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    });

    it('extracts nothing from headers without a valid traceparent', () => {
      expect(extractTraceContext(undefined)).to.equal(undefined);
      expect(extractTraceContext({ traceparent: Buffer.from('garbage') })).to.equal(undefined);
      expect(trace.getActiveSpan()).to.equal(undefined);
    });
  });
});
