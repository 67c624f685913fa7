import { Gauge, type Registry } from 'prom-client';
import { OpenMcpError, redactUrlsIn } from '../../core/errors';
import type { ReadinessCheck } from '../../telemetry/readiness-check';
import { kafkaProtocolError } from './kafka-error-type';

/**
 * One consumer group's member in this process, as the Kafka bus runs it: `running` (consuming, or
 * joining its group), `restarting` (kafkajs stopped it on an error it does not retry; the bus
 * starts a new one at `restartAt`), or `stopped` for good (a configuration the brokers refuse:
 * restarting would be refused again).
 */
export type ConsumerState = {
  group: string;
  state: 'running' | 'restarting' | 'stopped';
  /** Since when it is in this state (for `restarting`, since it first stopped). */
  since: Date;
  /** Why it stopped: the error, with its code or kafkajs type. */
  reason?: string;
  /** When the next restart is due (`restarting` only). */
  restartAt?: Date;
  /** Restarts tried since it last ran. */
  restarts: number;
};

/** What the readiness line and the gauge read: KafkaBus. */
export type ConsumerStates = { consumerStates(): ConsumerState[] };

export const KAFKA_CONSUMERS_STOPPED_METRIC = 'openmcp_kafka_consumers_stopped';

/**
 * An error as a stopped consumer's reason: its code (ours) or kafkajs type (the broker's error,
 * e.g. GROUP_AUTHORIZATION_FAILED), its message, no credentials in URLs; cut (/readyz is public),
 * ours less short: they end with what to do.
 * @example stoppedReason(err) // 'GROUP_AUTHORIZATION_FAILED: Not authorized to access group: Group authorization failed'
 */
export function stoppedReason(err: unknown): string {
  if (err instanceof OpenMcpError) return `${err.code}: ${redactUrlsIn(err.message)}`.slice(0, 600);
  // kafkajs wraps the broker's error (KafkaJSNonRetriableError, its cause the protocol error with the type).
  const e = (kafkaProtocolError(err) ?? err) as { type?: unknown; name?: unknown; message?: unknown } | undefined;
  const message = redactUrlsIn(String(e?.message ?? err));
  const kind = typeof e?.type === 'string' ? e.type : typeof e?.name === 'string' ? e.name : undefined;
  return (kind ? `${kind}: ${message}` : message).slice(0, 300);
}

/**
 * The /readyz line of the Kafka consumer of `group` (the projector's): up while it runs; while
 * kafkajs has stopped it, `degraded`, naming the group, since when, why and when it restarts, or
 * that it is not restarted (a configuration the brokers refuse). Never down, as Kafka's own line
 * (`bus (kafka)`) is never down: /readyz answers 503 for the event store, the database and a drain,
 * not for a dependency the projectors wait for. A group this process does not consume is up.
 * @example kafkaConsumerReadiness(bus, 'openmcp-projector').check() // { state: 'degraded', detail: 'group openmcp-projector stopped since …: GROUP_AUTHORIZATION_FAILED: …; restarting in 4 s (restart 3)' }
 */
export function kafkaConsumerReadiness(source: ConsumerStates, group: string): ReadinessCheck {
  return {
    name: `kafka consumer (${group})`,
    async check() {
      const states = source.consumerStates().filter((s) => s.group === group);
      const stopped = states.find((s) => s.state !== 'running');
      if (!stopped) return { state: 'up', detail: states.length ? `group ${group} consuming` : `group ${group} not consumed here` };
      const next =
        stopped.state === 'restarting'
          ? `restarting in ${Math.max(0, Math.ceil(((stopped.restartAt?.getTime() ?? Date.now()) - Date.now()) / 1000))} s (restart ${stopped.restarts + 1}); the read models it applies wait`
          : 'not restarted: fix the cause and restart the process; the read models it applies wait';
      return { state: 'degraded', detail: `group ${group} stopped since ${stopped.since.toISOString()}: ${stopped.reason ?? 'unknown'}; ${next}` };
    },
  };
}

/**
 * `openmcp_kafka_consumers_stopped{group}`: this process's consumers of each group kafkajs has
 * stopped (waiting to be restarted, or for good), 0 while they run; read at scrape time.
 * @example trackKafkaConsumers(registry, bus)
 */
export function trackKafkaConsumers(registry: Registry, source: ConsumerStates): void {
  if (registry.getSingleMetric(KAFKA_CONSUMERS_STOPPED_METRIC)) registry.removeSingleMetric(KAFKA_CONSUMERS_STOPPED_METRIC);
  new Gauge({
    name: KAFKA_CONSUMERS_STOPPED_METRIC,
    help: 'Kafka consumers of this process that kafkajs stopped on an error it does not retry, by consumer group: waiting for the bus to restart them, or stopped for good on a configuration the brokers refuse (see /readyz). 0 while they run.',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      const byGroup = new Map<string, number>();
      for (const s of source.consumerStates()) byGroup.set(s.group, (byGroup.get(s.group) ?? 0) + (s.state === 'running' ? 0 : 1));
      for (const [group, n] of byGroup) this.set({ group }, n);
    },
  });
}
