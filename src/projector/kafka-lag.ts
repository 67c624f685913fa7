import type { CheckpointStore } from '../checkpoints/port';
import type { EventStore } from '../eventstore/port';
import { eventsAfter } from '../eventstore/events-after';
import type { KafkaBus } from '../bus/kafka/kafka-bus';
import { relayCheckpointName } from '../relay/relay';

export type KafkaProjectionLagParameters = {
  store: Pick<EventStore, 'headPosition' | 'readAll' | 'gapFreePositions'>;
  /** Where the relay keeps its checkpoint (the shared SQL checkpoints). */
  checkpoints: CheckpointStore;
  bus: Pick<KafkaBus, 'pending' | 'topic'>;
  group: string;
};

/**
 * The projections' lag when they read the log from Kafka: the events the relay has not published
 * yet (after its checkpoint) plus the messages on the topic the group has not handled yet. Head −
 * watermark cannot tell it there: partitions apply out of global order, so one partition's newest
 * position raises the watermark over another's unapplied events (a poison event, a slow member),
 * and a member whose partitions are quiet keeps an old watermark of its own.
 * @example new Projector({ knex, bus, lag: kafkaProjectionLag({ store, checkpoints, bus, group }) })
 */
export function kafkaProjectionLag(p: KafkaProjectionLagParameters): () => Promise<number> {
  return async () => {
    const [published, pending] = await Promise.all([p.checkpoints.load(relayCheckpointName(p.bus.topic)), p.bus.pending(p.group)]);
    return (await eventsAfter(p.store, published ?? -1)) + pending;
  };
}
