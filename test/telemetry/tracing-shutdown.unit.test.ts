import { trace } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
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

/** A collector that answers every export with an error (a wrong path's 404, a refused token's 401). */
class RefusingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.FAILED, error: new Error('Not Found') });
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

  it('says the same of a collector that refuses the last spans at once: DEPENDENCY_UNAVAILABLE naming OTEL_EXPORTER_OTLP_ENDPOINT and the URL (credentials masked), the answer kept as the cause (was: the exporter\'s bare "Not Found")', async () => {
    const tracing = initTracing(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:s3cret@jaeger:4318/', OTEL_SERVICE_NAME: 'openmcp-test', OPENMCP_ROLES: 'all' },
      { exporter: new RefusingExporter(), shutdownFlushMs: 5_000 },
    );
    tracing.tracer.startSpan('queued').end();
    const err = await tracing.shutdown().then(
      () => expect.fail('shutdown claimed the spans were exported'),
      (e: Error & { code?: string; cause?: unknown }) => e,
    );
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.include('OTEL_EXPORTER_OTLP_ENDPOINT').and.include('http://***:***@jaeger:4318/v1/traces').and.include('refused them: Not Found');
    expect(err.message, 'credentials in the URL').to.not.include('s3cret');
    expect((err.cause as Error).message).to.equal('Not Found');
    expect(trace.getTracer('x').startSpan('after').isRecording()).to.equal(false);
  });
});
