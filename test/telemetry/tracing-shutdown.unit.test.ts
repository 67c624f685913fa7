import { trace } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { initTracing } from '../../src/telemetry';

/** A collector that takes the request and never answers (Jaeger hung, a black-holed address). */
class SilentExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[]): void {
    this.exported += spans.length;
  }
  async shutdown(): Promise<void> {}
}

/**
 * A drain ends with tracing's last flush. Against a collector that does not answer, the OTLP
 * exporter's own timeouts and retries took ~8 s of the 10 s SHUTDOWN_DEADLINE_MS (seen with
 * infra/'s stack without Jaeger): every role's restart waited on it, and a drain with anything
 * else to do passed the deadline and exited 1. The flush is bounded and says what it gave up.
 */
describe('tracing shutdown against a collector that does not answer', () => {
  it('gives up after its flush window, naming OTEL_EXPORTER_OTLP_ENDPOINT, and undoes the registration (was: waited on the exporter)', async () => {
    const exporter = new SilentExporter();
    const tracing = initTracing(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SERVICE_NAME: 'openmcp-test', OPENMCP_ROLES: 'all' },
      { exporter, shutdownFlushMs: 50 },
    );
    tracing.tracer.startSpan('queued').end();
    const err = await tracing.shutdown().then(
      () => expect.fail('shutdown claimed the spans were exported'),
      (e: Error & { code?: string }) => e,
    );
    expect(exporter.exported).to.equal(1);
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.include('OTEL_EXPORTER_OTLP_ENDPOINT').and.include('http://jaeger:4318/v1/traces').and.include('50 ms');
    expect(trace.getTracer('x').startSpan('after').isRecording()).to.equal(false);
  });
});
