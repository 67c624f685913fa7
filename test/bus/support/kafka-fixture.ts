/** What the Kafka bus tests share: a test broker with a connected producer per file, their events, and a bounded wait. */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createEvent, type RecordedEvent } from '../../../src/core/envelope';
import { newId } from '../../../src/core/ids';
import { startKafkaBroker, type KafkaBroker } from '../../support/kafka-broker';

/** Polls `check` every 10 ms until it holds; fails naming `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let position = 0;
/** A `TaskStarted` event as the store records it, at the next position of this test process. */
export const taskStartedEvent = (stream = `task-${newId()}`, revision = 0): RecordedEvent =>
  ({ ...createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: {} }), revision, position: position++ }) as RecordedEvent;

/**
 * A test broker and a connected producer for the enclosing describe (mocha before/after hooks);
 * read them in the tests, after `before` ran.
 */
export function brokerWithProducer(): { broker: KafkaBroker; producer: Producer } {
  const made = {} as { broker: KafkaBroker; producer: Producer };
  before(async () => {
    made.broker = await startKafkaBroker();
    made.producer = new Kafka({ brokers: made.broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await made.producer.connect();
  });
  after(async () => {
    await made.producer?.disconnect();
    await made.broker?.stop();
  });
  return made;
}
