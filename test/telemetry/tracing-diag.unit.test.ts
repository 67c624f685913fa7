import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/api/logger';
import { diagToLogger, initTracing } from '../../src/telemetry';

/** A collector that answers every export with an error (a wrong path's 404). */
class RefusingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.FAILED, error: new Error('Not Found at http://user:secret@collector:4318/v1/traces') });
  }
  async shutdown(): Promise<void> {}
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

/**
 * Spans the exporter failed to send while the process ran were dropped without a word: the
 * OpenTelemetry SDK reports them through its diag logger, which nothing had set. They now reach
 * the process's log (component tracing), at most one line a minute of each kind.
 */
describe('tracing: the SDK\'s warnings and errors reach the log', () => {
  it('a failed export while running is logged (component tracing, the URL\'s credentials masked), once a minute of each kind, saying how many were held back', async () => {
    const { lines, logger } = capture();
    let t = 0;
    const tracing = initTracing(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'openmcp-test', OPENMCP_ROLES: 'all' },
      { exporter: new RefusingExporter(), simple: true, logger, diag: { now: () => t } },
    );
    try {
      for (let i = 0; i < 5; i++) tracing.tracer.startSpan(`s${i}`).end();
      await settle();
      const tracingLines = () => lines.filter((l) => l.component === 'tracing');
      expect(tracingLines()).to.have.length(1);
      expect(tracingLines()[0]).to.include({ level: 50 });
      expect(String(tracingLines()[0].msg)).to.match(/Not Found/);
      expect(JSON.stringify(tracingLines()[0])).to.not.include('secret');

      t = 59_999;
      tracing.tracer.startSpan('still held back').end();
      await settle();
      expect(tracingLines()).to.have.length(1);
      t = 60_000;
      tracing.tracer.startSpan('a minute on').end();
      await settle();
      expect(tracingLines()).to.have.length(2);
      expect(tracingLines()[1]).to.include({ suppressed: 5 });
    } finally {
      await tracing.shutdown().catch(() => {});
    }
    // Shutdown undoes it: the SDK's lines go nowhere again.
    diag.error('after shutdown');
    expect(lines.filter((l) => l.msg === 'after shutdown')).to.deep.equal([]);
  });

  it('tracing off: no diag logger is set', () => {
    const { lines, logger } = capture();
    const tracing = initTracing({ OTEL_SERVICE_NAME: 'openmcp-test', OPENMCP_ROLES: 'all' }, { logger });
    expect(tracing.enabled).to.equal(false);
    diag.error('tracing is off');
    expect(lines).to.deep.equal([]);
  });

  it('diagToLogger: kinds differ by text with their numbers masked; warnings at warn; info and debug dropped', () => {
    const { lines, logger } = capture();
    const d = diagToLogger(logger, { now: () => 0 });
    d.warn('Dropped 3 spans because maxQueueSize reached');
    d.warn('Dropped 7 spans because maxQueueSize reached');
    d.warn('export response retryable (status: 503)');
    d.info('informative');
    d.debug('noisy');
    expect(lines.map((l) => [l.level, l.msg])).to.deep.equal([
      [40, 'Dropped 3 spans because maxQueueSize reached'],
      [40, 'export response retryable (status: 503)'],
    ]);
  });
});
