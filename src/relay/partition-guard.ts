import { Partitioners, type ICustomPartitioner } from 'kafkajs';
import type { CheckpointStore } from '../checkpoints/port';
import { RelayPartitionsChangedError } from './relay-errors';

/** Checkpoint row holding the partition count the relay first published `topic` with. */
export const relayPartitionsName = (topic: string) => `relay:${topic}:partitions`;

/**
 * Refuse a topic whose partition count changed since the relay first published to it: murmur2 of
 * the key modulo the count places each stream, so a new count moves streams to other partitions,
 * and a consumer could then apply a stream's later events before its earlier ones. The first call
 * records the count (in the checkpoint store, next to the relay's position).
 * @example await checkPartitionCount(checkpoints, 'openmcp.events.v1', 6)
 */
export async function checkPartitionCount(checkpoints: CheckpointStore, topic: string, count: number): Promise<void> {
  const known = await checkpoints.load(relayPartitionsName(topic));
  if (known === undefined) await checkpoints.save(relayPartitionsName(topic), count);
  else if (known !== count) throw new RelayPartitionsChangedError(topic, known, count);
}

/**
 * kafkajs' default partitioner (murmur2, as the Java client), refusing to place a message once the
 * topic's metadata shows another partition count than `expected` (partitions added while running).
 */
export function guardedPartitioner(topic: string, expected: () => number | undefined): ICustomPartitioner {
  return () => {
    const place = Partitioners.DefaultPartitioner();
    return (args) => {
      const count = expected();
      if (count !== undefined && args.partitionMetadata.length !== count) throw new RelayPartitionsChangedError(topic, count, args.partitionMetadata.length);
      return place(args);
    };
  };
}
