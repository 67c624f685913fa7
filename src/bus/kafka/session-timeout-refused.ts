import { ConfigError } from '../../core/errors';
import { kafkaErrorType } from './kafka-error-type';

/** Whether `err`, or an error it was caused by, is a broker's INVALID_SESSION_TIMEOUT (Kafka error 26). */
export function isSessionTimeoutRefusal(err: unknown): boolean {
  return kafkaErrorType(err) === 'INVALID_SESSION_TIMEOUT';
}

/**
 * The brokers refused a member's session timeout (JoinGroup's INVALID_SESSION_TIMEOUT): outside
 * their group.min.session.timeout.ms..group.max.session.timeout.ms. kafkajs does not retry it, and
 * its words name the brokers' settings only: this names ours.
 * @example sessionTimeoutRefused(3000, 'openmcp-projector', err).message // 'the brokers refuse KAFKA_SESSION_TIMEOUT_MS=3000 …'
 */
export function sessionTimeoutRefused(sessionTimeoutMs: number | undefined, group: string, cause: unknown): ConfigError {
  const value = sessionTimeoutMs === undefined ? 'kafkajs\'s default of 30000' : String(sessionTimeoutMs);
  const err = new ConfigError(
    `the brokers refuse KAFKA_SESSION_TIMEOUT_MS=${value}: a consumer group member's session timeout must be within their group.min.session.timeout.ms and group.max.session.timeout.ms (6000 and 1800000 unless set otherwise); the consumer of group ${group} stopped: set KAFKA_SESSION_TIMEOUT_MS within the brokers' range and restart`,
    { variable: 'KAFKA_SESSION_TIMEOUT_MS' },
  );
  return Object.assign(err, { cause });
}
