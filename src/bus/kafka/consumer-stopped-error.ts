import { OpenMcpError } from '../../core/errors';
import { stoppedReason } from './consumer-health';

/**
 * kafkajs stopped a consumer of `group` on an error it does not retry (the group's ACL removed:
 * GROUP_AUTHORIZATION_FAILED, and the like): the bus starts a new one after a backoff. Counted in
 * openmcp_errors_total under its own code, where kafkajs's error had none (INTERNAL).
 * @example new KafkaConsumerStoppedError('openmcp-projector', err).message // 'the Kafka consumer of group openmcp-projector stopped on an error kafkajs does not retry: GROUP_AUTHORIZATION_FAILED: …'
 */
export class KafkaConsumerStoppedError extends OpenMcpError {
  constructor(group: string, cause: unknown) {
    const reason = stoppedReason(cause);
    super('KAFKA_CONSUMER_STOPPED', `the Kafka consumer of group ${group} stopped on an error kafkajs does not retry: ${reason}`, { status: 503, cause, details: { group, reason } });
  }
}
