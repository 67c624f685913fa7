import { Counter, type Registry } from 'prom-client';

export const LOG_LINES_DROPPED_METRIC = 'openmcp_log_lines_dropped_total';

/** Why a line of the process's JSON log never reached stdout (stdoutLogDestination). */
export const LOG_LOSS_REASONS = ['queue_full', 'write_error', 'reader_gone'] as const;
export type LogLossReason = (typeof LOG_LOSS_REASONS)[number];

/**
 * `openmcp_log_lines_dropped_total{reason}` of `registry` (created on first use), each reason's
 * series there from the start at 0: increase() misses what a series held when it first appeared.
 * @example stdoutLogDestination({ onLinesLost: (reason, n) => logLinesDroppedCounter(registry).inc({ reason }, n) })
 */
export function logLinesDroppedCounter(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(LOG_LINES_DROPPED_METRIC) as Counter<'reason'> | undefined;
  if (existing) return existing;
  const counter = new Counter({
    name: LOG_LINES_DROPPED_METRIC,
    help: 'Lines of the JSON log never written to stdout: reason "queue_full" (stdout not taking them, LOG_BUFFER_MAX_BYTES of them held), "write_error" (a write failed: its lines), "reader_gone" (EPIPE: every line from then on)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of LOG_LOSS_REASONS) counter.inc({ reason }, 0);
  return counter;
}
