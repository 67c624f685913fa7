import { logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { forwardLog } from './held-errors';

/** kafkajs's ERROR line for a heartbeat its group coordinator answered REBALANCE_IN_PROGRESS. */
function isToldToRejoin(e: LogEntry): boolean {
  return (
    e.level === logLevel.ERROR &&
    e.namespace === 'Connection' &&
    String(e.log.message).startsWith('Response Heartbeat') &&
    e.log.error === 'The group is rebalancing, so a rejoin is needed'
  );
}

/**
 * `config` for a consumer group's client, without the ERROR line kafkajs writes for a heartbeat
 * answered "the group is rebalancing": that answer is how the coordinator tells every member that
 * another one joined or left (each projector's start, stop or deploy), and kafkajs's Runner says
 * it at WARN already ("The group is rebalancing, re-joining"). Every other line goes on to
 * `config`'s own logCreator and level (kafkajs's console logger when none).
 * @example new Kafka(withoutRejoinErrors({ brokers, clientId })).consumer({ groupId })
 */
export function withoutRejoinErrors(config: KafkaConfig): KafkaConfig {
  const forward = forwardLog(config);
  return { ...config, logCreator: () => (e) => void (isToldToRejoin(e) || forward(e)) };
}
