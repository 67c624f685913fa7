import { OpenMcpError } from '../../core/errors';

/**
 * A consumer's topic does not exist and could not be created with the contract settings (creation
 * refused by ACL or policy, or failed): the consumer does not have the broker auto-create it with
 * its own defaults instead, which would fix a partition count and message size limit for good.
 */
export class KafkaTopicMissingError extends OpenMcpError {
  constructor(topic: string, createFailure: unknown, cause: unknown) {
    const why = createFailure === undefined ? '' : `; creating it failed: ${(createFailure as Error)?.message ?? String(createFailure)}`;
    super(
      'KAFKA_TOPIC_MISSING',
      `bus: topic ${topic} does not exist${why}. Start the relay (it creates the topic with the contract settings) or create it by hand (docs/consumers.md, "Topic"), then start the consumer again`,
      { status: 503, cause, details: { topic } },
    );
  }
}
