/**
 * A session timeout the brokers refuse (below their group.min.session.timeout.ms, 6000 by default,
 * or above group.max.session.timeout.ms): kafkajs's consumer crashes on JoinGroup's
 * INVALID_SESSION_TIMEOUT and, the error not retriable, stays stopped, having logged the broker's
 * words, which name no setting of ours. The bus reports it naming KAFKA_SESSION_TIMEOUT_MS.
 * Real kafkajs against the test broker, which refuses as Kafka does when given the range.
 */
import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { KafkaBus } from '../../src/bus/kafka';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';

describe('KafkaBus: a session timeout the brokers refuse', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  before(async () => {
    broker = await startKafkaBroker({ groupSessionTimeoutMs: { min: 6000, max: 1_800_000 } });
  });
  after(() => broker?.stop());

  it('stops the consumer and says so, naming KAFKA_SESSION_TIMEOUT_MS and the brokers\' settings that bound it', async () => {
    let stopped: ((v: { err: unknown; group: string }) => void) | undefined;
    const reported = new Promise<{ err: unknown; group: string }>((resolve) => (stopped = resolve));
    const bus = new KafkaBus({
      brokers: broker.brokers,
      topic: 'timeout.events.v1',
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 1000,
      kafka: { logLevel: logLevel.NOTHING },
      onInvalidMessage: () => undefined,
      onConsumerStopped: (err, group) => stopped!({ err, group }),
    });
    try {
      await bus.consume('too-short', async () => undefined);
      const { err, group } = await reported;
      expect(group).to.equal('too-short');
      expect(err).to.have.property('code', 'CONFIG_INVALID');
      expect(err).to.have.nested.property('details.variable', 'KAFKA_SESSION_TIMEOUT_MS');
      expect((err as Error).message).to.contain('KAFKA_SESSION_TIMEOUT_MS=3000').and.contain('group.min.session.timeout.ms').and.contain('too-short');
    } finally {
      await bus.close();
    }
  });
});
