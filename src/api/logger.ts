import { traceLogMixin } from '../telemetry/log-mixin';
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactUrlsIn } from '../core/errors';
import { stdoutLogDestination } from './stdout-log-destination';

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
 * Without `stream`, it writes to stdout, a stdout that does not take the lines costing lines (at
 * most 16 MiB of them held, the rest dropped), never the process (stdoutLogDestination).
 * @example buildApp({ ...deps, logger: createLogger('info') })
 */
export function createLogger(level = 'info', stream?: DestinationStream): Logger {
  // Log lines carry trace_id/span_id of the active span, so logs and traces join up.
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, mixin: traceLogMixin, serializers: { err: serializeError } };
  return pino(options, stream ?? stdoutLogDestination());
}

/**
 * pino's error serializer, with every URL in it redacted: clients repeat the URL they failed on,
 * credentials and all (ethers puts the chain RPC URL, API key included, in its message and in
 * `info.requestUrl`; database drivers their connection string).
 */
function serializeError(err: Error): unknown {
  return redactStrings(pino.stdSerializers.err(err));
}

function redactStrings(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redactUrlsIn(v, { pathKeys: true });
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactStrings(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactStrings(x, depth + 1)]));
}
