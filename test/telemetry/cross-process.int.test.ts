import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import Fastify from 'fastify';
import { openRedisCache } from '../../src/cache/redis';
import { ConfigSchema } from '../../src/config';
import { createEvent } from '../../src/core/envelope';
import { openSqlEventStore } from '../../src/eventstore/sql';
import { EventTraceContexts, initTracing, installHttpTracing, tracedEventStore } from '../../src/telemetry';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';

const run = promisify(execFile);
const ROLE = join(__dirname, 'support', 'traced-role.ts');

type SpanRow = { name: string; traceId: string; spanId: string; parentSpanId?: string; service: string; pid: number };

async function role(job: Record<string, unknown>): Promise<{ headers?: Record<string, string>; spans: SpanRow[] }> {
  const { stdout } = await run(process.execPath, ['--require', 'tsx/cjs', ROLE, JSON.stringify(job)], { cwd: join(__dirname, '..', '..'), timeout: 60_000 });
  return JSON.parse(stdout);
}

describe('tracing across processes', function () {
  this.timeout(120_000);
  let prefix: ReturnType<typeof redisTestPrefix>;
  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    prefix = redisTestPrefix('omc_trace');
  });
  after(async () => {
    await prefix?.drop();
  });

  it('one request shows spans from four processes (api, relay, projector, agent) under one trace id', async () => {
    // Process 1, here: the API appends in a traced request; the event's context goes to Redis.
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({ ...ConfigSchema.parse({}), OTEL_SERVICE_NAME: 'openmcp-api', OPENMCP_ROLES: 'api' }, { exporter, simple: true });
    const cache = await openRedisCache(REDIS_TEST_URL, prefix.prefix);
    const store = await openSqlEventStore('sqlite::memory:');
    const traced = tracedEventStore(store, new EventTraceContexts(cache));
    const app = Fastify();
    app.post('/v1/tasks', async () => {
      const r = await traced.append('task-x1', [createEvent({ type: 'TaskSubmitted', stream: 'task-x1', tenant: 't', actor: { kind: 'user', id: 'u' }, data: {} })]);
      return { eventId: r.events[0].id };
    });
    installHttpTracing(app);
    const { eventId } = (await app.inject({ method: 'POST', url: '/v1/tasks' })).json() as { eventId: string };
    await app.close();
    // remember() is fire-and-forget: wait until Redis has the context (not a fixed pause, which
    // a loaded machine can outlast before the SET's answer comes back).
    const contexts = new EventTraceContexts(cache);
    for (const end = Date.now() + 10_000; !(await contexts.recall(eventId)) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    const apiSpans = exporter.getFinishedSpans();
    await tracing.shutdown();
    await store.close();
    await cache.close();

    // Process 2: the relay finds the context by event id and puts it into the message headers.
    const relay = await role({ role: 'relay', eventId, redisUrl: REDIS_TEST_URL, prefix: prefix.prefix });
    expect(relay.headers?.traceparent, 'relay wrote a traceparent header').to.be.a('string');
    // Processes 3 and 4 consume that message.
    const [projector, agent] = await Promise.all([
      role({ role: 'projector', headers: relay.headers, redisUrl: REDIS_TEST_URL, prefix: prefix.prefix }),
      role({ role: 'agent', headers: relay.headers, redisUrl: REDIS_TEST_URL, prefix: prefix.prefix }),
    ]);

    const traceId = apiSpans.find((s) => s.name === 'POST /v1/tasks')!.spanContext().traceId;
    const all: SpanRow[] = [
      ...apiSpans.map((s) => ({ name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, parentSpanId: s.parentSpanContext?.spanId, service: 'openmcp-api', pid: process.pid })),
      ...relay.spans,
      ...projector.spans,
      ...agent.spans,
    ];
    expect(all.every((s) => s.traceId === traceId), JSON.stringify(all, null, 1)).to.equal(true);
    expect(new Set(all.map((s) => s.pid)).size).to.equal(4);
    expect(new Set(all.map((s) => s.service))).to.deep.equal(new Set(['openmcp-api', 'openmcp-relay', 'openmcp-projector', 'openmcp-agent']));
    expect(all.map((s) => s.name)).to.include.members([
      'POST /v1/tasks', 'eventstore.append', 'openmcp.events.v1 publish', 'openmcp.events.v1 process', 'agent.run_task', 'chat gpt-4o-mini', 'tools/call examples__echo',
    ]);
    // Parent links cross the process boundaries: append → publish (via Redis) → consume (via headers).
    const id = (name: string) => all.find((s) => s.name === name)!;
    expect(id('openmcp.events.v1 publish').parentSpanId).to.equal(id('eventstore.append').spanId);
    expect(id('openmcp.events.v1 process').parentSpanId).to.equal(id('openmcp.events.v1 publish').spanId);
    expect(id('agent.run_task').parentSpanId).to.equal(id('openmcp.events.v1 publish').spanId);
  });
});
