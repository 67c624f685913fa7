/**
 * One simulated role in its own process for test/telemetry/cross-process.int.test.ts: it takes
 * a trace context the way the real role does (from the cache by event id, or from Kafka message
 * headers), makes that role's spans with the product's helpers, and prints them as JSON.
 * argv[2] = JSON { role, headers?, eventId?, redisUrl, prefix }.
 */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { IHeaders } from 'kafkajs';
import { openRedisCache } from '../../../src/cache/redis';
import { ConfigSchema } from '../../../src/config';
import {
  EventTraceContexts, extractTraceContext, initTracing, startConsumeSpans, startPublishSpans, traceLlmCall, traceToolCall, withSpan,
} from '../../../src/telemetry';
import { context } from '@opentelemetry/api';

type Job = { role: 'relay' | 'projector' | 'agent'; headers?: Record<string, string>; eventId?: string; redisUrl: string; prefix: string };

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  const exporter = new InMemorySpanExporter();
  const tracing = initTracing({ ...ConfigSchema.parse({}), OTEL_SERVICE_NAME: `openmcp-${job.role}`, OPENMCP_ROLES: job.role }, { exporter, simple: true });
  const topic = 'openmcp.events.v1';
  const asKafka = (h: Record<string, string>): IHeaders => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)]));
  let headers: IHeaders | undefined;
  if (job.role === 'relay') {
    const cache = await openRedisCache(job.redisUrl, job.prefix);
    const parent = await new EventTraceContexts(cache).recall(job.eventId!);
    await cache.close();
    const message: { headers?: IHeaders } = { headers: { 'event-id': job.eventId! } };
    startPublishSpans(topic, [message], [parent]).end();
    headers = message.headers;
  } else if (job.role === 'projector') {
    const spans = startConsumeSpans(topic, 'openmcp-projector', [asKafka(job.headers!)]);
    spans.end();
  } else {
    const parent = extractTraceContext(asKafka(job.headers!));
    await context.with(parent!, () =>
      withSpan('agent.run_task', {}, async () => {
        await traceLlmCall('gpt-4o-mini', async () => undefined);
        await traceToolCall('examples__echo', async () => undefined);
      }),
    );
  }
  await tracing.forceFlush();
  const spans = exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    service: s.resource.attributes['service.name'],
    pid: process.pid,
  }));
  await tracing.shutdown();
  process.stdout.write(JSON.stringify({ headers: headers && Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])), spans }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
