import { Counter, type Registry } from 'prom-client';

export const LOG_DROPPED_METRIC = 'openmcp_mcp_log_messages_dropped_total';

/**
 * Why a relayed log message was not sent to a client: `rate` (its upstream logged faster than
 * the relay's rate; dropped for every client), `backlog` (the client is not reading what it was
 * sent: its /mcp GET stream or stdout already holds `MAX_QUEUED_LOG_MESSAGES` unsent messages).
 */
export type LogDropReason = 'rate' | 'backlog';

/** How much of the upstreams' logging the gateway relays. */
export type LogRelayLimits = {
  /** Serialized JSON bytes of a message's `data` relayed as is; larger data is replaced by a note (`cutLogData`). Default 8192. */
  maxDataBytes: number;
  /** Messages a second each upstream may have relayed, on average. Default 100. */
  perSecond: number;
  /** Messages an upstream may have relayed at once after a quiet spell. Default 200. */
  burst: number;
};

export const defaultLogRelayLimits: LogRelayLimits = { maxDataBytes: 8192, perSecond: 100, burst: 200 };

/**
 * Log messages one client may have waiting to be sent (written but not yet taken by its
 * connection) before further ones are dropped for it: a client that holds its stream open without
 * reading costs at most this many messages of at most `maxDataBytes`, not every message until it goes.
 */
export const MAX_QUEUED_LOG_MESSAGES = 100;

/** `openmcp_mcp_log_messages_dropped_total{reason}` of `registry` (created on first use). */
export function logDropCounter(registry: Registry): Counter<'reason'> {
  return (
    (registry.getSingleMetric(LOG_DROPPED_METRIC) as Counter<'reason'> | undefined) ??
    new Counter({
      name: LOG_DROPPED_METRIC,
      help: 'Upstream log messages (notifications/message) not relayed to an MCP client: reason "rate" (the upstream logged over the relay rate; counted once per message), "backlog" (the client was not reading; counted per client)',
      labelNames: ['reason'] as const,
      registers: [registry],
    })
  );
}

/**
 * `data` as it is relayed: itself when its JSON is at most `maxBytes` bytes (UTF-8), else a short
 * note saying it was cut and how large it was (a client that needs it reads the upstream's own log).
 * @example cutLogData('x'.repeat(20_000), 8192) // '[cut by the gateway: 20002 bytes of JSON data, over the 8192 relayed]'
 */
export function cutLogData(data: unknown, maxBytes: number): unknown {
  const json = JSON.stringify(data);
  if (json === undefined || json.length <= maxBytes / 3) return data;
  const bytes = Buffer.byteLength(json);
  return bytes <= maxBytes ? data : `[cut by the gateway: ${bytes} bytes of JSON data, over the ${maxBytes} relayed]`;
}

/** The most characters of an upstream's `logger` name relayed (the message's size bound is `data`'s and this). */
export const MAX_LOGGER_CHARS = 128;

/**
 * An upstream's `logger` name as relayed: at most MAX_LOGGER_CHARS characters, a longer one cut
 * with "…" (any string is valid to the SDK, and a message is relayed to every client of the tenant).
 */
export function cutLoggerName(logger: string): string {
  return logger.length <= MAX_LOGGER_CHARS ? logger : `${logger.slice(0, MAX_LOGGER_CHARS - 1)}…`;
}

/**
 * A token bucket: `take()` is true while the caller is within `perSecond` on average with bursts
 * of `burst`. `now` in ms (monotonic).
 */
export class LogRate {
  private tokens: number;
  private at: number;

  constructor(private readonly perSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
