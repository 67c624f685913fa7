import type { RecordedEvent } from '../core/envelope';

/** Handles a batch of events; resolving means they are processed and progress may be committed. */
export type BusHandler = (events: RecordedEvent[]) => Promise<void>;

export type ConsumeOptions = {
  /** A group with no committed progress starts at the beginning of the log (default) or the end. */
  start?: 'beginning' | 'end';
};

export interface BusConsumer {
  /** Stop consuming; resolves after the batch in hand is handled and progress committed. */
  stop(): Promise<void>;
}

/**
 * Delivers the event log to consumers: at least once, in order per stream, each consumer group
 * resuming from its committed progress. Adapters: Kafka (the relay publishes the log to a topic;
 * groups are Kafka consumer groups) and in-process (a checkpointed feed read from the event store).
 * Consumers dedupe by event id / stream revision: a batch may be delivered again after a crash.
 */
export interface Bus {
  readonly name: string;
  consume(group: string, handler: BusHandler, options?: ConsumeOptions): Promise<BusConsumer>;
  close(): Promise<void>;
}
