import { traceLogMixin } from '../telemetry/log-mixin';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths never written to a log: credentials in headers, and any key in a body or reply. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'key',
  '*.key',
  'apiKey',
  '*.apiKey',
  'token',
];

/**
 * The product logger: structured JSON with credentials redacted. Pass it as AppDeps.logger.
 * @example buildApp({ ...deps, logger: createLogger('info') })
 */
export function createLogger(level = 'info', stream?: DestinationStream): Logger {
  // Log lines carry trace_id/span_id of the active span, so logs and traces join up.
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, mixin: traceLogMixin };
  return stream ? pino(options, stream) : pino(options);
}
