import type { DiagLogger } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { redactUrlsIn } from '../core/errors';
import { cutText } from '../core/well-formed';

/** At most one line per minute of each kind: a collector down fails every export, every few seconds. */
const DIAG_INTERVAL_MS = 60_000;
/** Kinds remembered; past it the oldest is forgotten (so its next line comes at once). */
const MAX_KINDS = 100;

export type DiagToLoggerOptions = {
  /** Least time between two lines of one kind (default one minute). */
  intervalMs?: number;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
};

/**
 * What the SDK said, readable: an exception it stringified (core's globalErrorHandler writes the
 * JSON of the error's properties, stack included) as its name, code and message; other arguments
 * after the message. URLs lose their credentials (an OTLP error repeats the collector's URL).
 */
function textOf(message: string, args: unknown[]): string {
  let text = message;
  if (message.startsWith('{')) {
    try {
      const e = JSON.parse(message) as { name?: string; message?: string; code?: string };
      if (typeof e.message === 'string') text = `${e.name ?? 'Error'}${e.code ? ` (${e.code})` : ''}: ${e.message}`;
    } catch {
      // Not an exception's JSON: kept as it came.
    }
  }
  const rest = args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' ');
  return cutText(redactUrlsIn(rest ? `${text} ${rest}` : text), 500);
}

/**
 * An OpenTelemetry DiagLogger writing the SDK's warnings and errors (a failed export of spans, spans
 * dropped from a full queue) to the process's logger, `component: tracing`, at most one line per
 * `intervalMs` of each kind (the text with its numbers masked); the next line of a kind says how
 * many were held back (`suppressed`). Info, debug and verbose lines are dropped.
 * @example diag.setLogger(diagToLogger(logger), DiagLogLevel.WARN)
 */
export function diagToLogger(logger: Logger, options: DiagToLoggerOptions = {}): DiagLogger {
  const intervalMs = options.intervalMs ?? DIAG_INTERVAL_MS;
  const now = options.now ?? (() => performance.now());
  const kinds = new Map<string, { last: number; suppressed: number }>();
  const write = (level: 'warn' | 'error') => (message: string, ...args: unknown[]) => {
    const text = textOf(String(message), args);
    const kind = `${level}:${text.replace(/\d+/g, '#').slice(0, 200)}`;
    const t = now();
    const seen = kinds.get(kind);
    if (seen && t - seen.last < intervalMs) {
      seen.suppressed++;
      return;
    }
    kinds.delete(kind);
    if (kinds.size >= MAX_KINDS) kinds.delete(kinds.keys().next().value!);
    kinds.set(kind, { last: t, suppressed: 0 });
    logger[level]({ component: 'tracing', ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, text);
  };
  const drop = () => {};
  return { error: write('error'), warn: write('warn'), info: drop, debug: drop, verbose: drop };
}
