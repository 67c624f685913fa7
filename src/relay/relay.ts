import { Kafka, logLevel, type KafkaConfig, type Message, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { RecordedEvent } from '../core/envelope';
import { errorCodeOf } from '../core/errors';
import { kafkaConnectError } from '../bus/kafka/connection-security';
import type { CheckpointStore } from '../checkpoints/port';
import type { EventStore } from '../eventstore/port';
import { eventsAfter } from '../eventstore/events-after';
import { readBatches } from '../bus/inprocess/read-batches';
import { toKafkaMessage } from '../bus/kafka/event-message';
import { eventsTopic } from '../bus/kafka/topic';
import { ensureEventsTopic } from '../bus/kafka/ensure-topic';
import type { EventTraceContexts } from '../telemetry/event-trace-contexts';
import { startPublishSpans } from '../telemetry/kafka-trace-headers';
import { trackRelayLag } from './relay-lag-gauge';
import { sleep } from '../core/sleep';
import { isKafkaError, isTooLarge, ownError, RelayEventTooLargeError, RelayPublishError, RelayTopicError } from './relay-errors';
import { checkPartitionCount, guardedPartitioner } from './partition-guard';
import { splitByBytes } from '../core/split-by-bytes';

/** Why the relay is not publishing: set by a failed attempt, cleared by the next one Kafka acknowledges. */
export type RelayStall = {
  /** Stable code (docs/errors.md): RELAY_EVENT_TOO_LARGE, RELAY_PUBLISH_FAILED, RELAY_TOPIC_UNAVAILABLE, or the store's. */
  code: string;
  message: string;
  /**
   * The first position not published yet: the checkpoint stays below it and its stream's later
   * events wait behind it (other streams' events may already be on the topic, duplicated later).
   */
  position: number;
  since: Date;
};

/**
 * Most bytes of messages in one produce request (the Java producer's max.request.size default):
 * far below Kafka's socket.request.max.bytes (100 MiB), over which the broker drops the connection
 * and the same request would be retried forever.
 */
const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
/** A message's key, headers and record framing, over its value. */
const RECORD_OVERHEAD = 512;


export type RelayOptions = {
  /** host:port list (KAFKA_BROKERS split on commas). */
  brokers: string[];
  clientId?: string;
  /** Default `eventsTopic()` = openmcp.events.v1. */
  topic?: string;
  /** Partitions when the relay creates the topic (default 6). */
  partitions?: number;
  /** Replication factor when the relay creates the topic (default -1: the broker's default). */
  replicationFactor?: number;
  /** Most events per produce request (default 500); a request Kafka refuses as too large is sent in halves. */
  maxBatch?: number;
  /** Most bytes of messages per produce request (default 1 MiB); an event larger than that goes alone. */
  maxRequestBytes?: number;
  /**
   * `max.message.bytes` of the topic when the relay creates it (default MAX_EVENT_BYTES + 64 KiB,
   * so every event the store accepts fits; Kafka's own default is about 1 MiB).
   */
  maxMessageBytes?: number;
  /**
   * Called before every produce request; a LeaseFencedError from it (or from the checkpoint save)
   * ends publishing for good: a newer leader publishes now (startRelayLeadership sets it).
   */
  fence?: () => Promise<void>;
  /**
   * How often the relay looks whether its checkpoint was set back (an operator replaying the log,
   * docs/consumers.md) while it has nothing to publish (default 5000 ms); while publishing, it
   * looks before each checkpoint save.
   */
  checkpointPollMs?: number;
  /** Registry for the lag gauge (default prom-client's global registry). */
  registry?: Registry;
  /** A failed publish is retried with backoff (up to 5 s) on a fresh producer; this hears about it. */
  onError?: (err: unknown) => void;
  /** Hears what an operator should see in the log at info level: a checkpoint found set back. */
  log?: (line: string) => void;
  /** Extra kafkajs client settings (ssl, sasl, retry, logLevel…). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
  /**
   * With tracing on: where the appending request left each event's trace context. A message whose
   * event has one is published in a `<topic> publish` span of that trace, and carries its
   * traceparent header, so the consumers continue the request's trace.
   */
  traceContexts?: EventTraceContexts;
};

/** Checkpoint name of the relay publishing to `topic`. */
export const relayCheckpointName = (topic: string) => `relay:${topic}`;

/**
 * Publishes the event log to the Kafka events topic (DESIGN.md "Kafka topic contract").
 * Each batch is sent with acks from all in-sync replicas by an idempotent producer with one request
 * in flight, so Kafka neither reorders nor duplicates within a producer session; the checkpoint
 * (last published position) is saved only after Kafka acknowledged. A crash between the two
 * republishes that batch on restart (duplicates, never gaps): consumers dedupe by event-id.
 * @example const relay = new Relay(store, new SqlCheckpointStore(knex), { brokers }); await relay.start()
 */
export class Relay {
  readonly topic: string;
  readonly checkpointName: string;
  private readonly kafka: Kafka;
  private readonly kafkaConfig: KafkaConfig;
  private producer?: Producer;
  private controller?: AbortController;
  private loop?: Promise<void>;
  private untrack?: () => void;
  private published = -1;
  private stall?: RelayStall;
  /** Where the checkpoint was found set back to (see checkSetBack), until the feed restarts there. */
  private setBackTo?: number;
  /** The topic's partition count when this relay started: a message is never placed with another. */
  private partitions?: number;

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: CheckpointStore,
    private readonly options: RelayOptions,
  ) {
    this.topic = options.topic ?? eventsTopic();
    this.checkpointName = relayCheckpointName(this.topic);
    this.kafkaConfig = { logLevel: logLevel.WARN, ...options.kafka, brokers: options.brokers, clientId: options.clientId ?? 'openmcp-relay' };
    this.kafka = new Kafka(this.kafkaConfig);
  }

  /** Last global position Kafka acknowledged (-1: none yet). */
  get position(): number {
    return this.published;
  }

  /** Why publishing is held up now (undefined while it goes well): for /readyz and operators. */
  get stalled(): RelayStall | undefined {
    return this.stall;
  }

  /**
   * Events in the log not yet published: head position - checkpoint where positions are gap-free
   * (SQL); counted by reading where they are log offsets (KurrentDB), up to EVENT_COUNT_CAP.
   */
  async lag(): Promise<number> {
    return eventsAfter(this.store, this.published);
  }

  /** Create the topic if missing, connect, and publish from the checkpoint on, in the background. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.published = (await this.checkpoints.load(this.checkpointName)) ?? -1;
    let partitions: number;
    try {
      partitions = await ensureEventsTopic(this.kafkaConfig, this.topic, this.options);
    } catch (err) {
      // Credentials or TLS refused: said with the settings to check, not as the topic's fault.
      throw kafkaConnectError(err, this.kafkaConfig) ?? new RelayTopicError(this.topic, err);
    }
    await checkPartitionCount(this.checkpoints, this.topic, partitions);
    this.partitions = partitions;
    this.producer = await this.connectProducer();
    this.controller = new AbortController();
    this.untrack = trackRelayLag(this, this.options.registry);
    this.loop = this.run(this.controller.signal);
  }

  /** Finish the batch in flight (publish and checkpoint), then disconnect. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.controller!.abort();
    await this.loop;
    this.loop = undefined;
    this.untrack?.();
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  /** Resolves once everything up to `position` (default: the current head) is published. */
  async waitFor(position?: number, timeoutMs = 30_000): Promise<void> {
    const target = position ?? (await this.store.headPosition());
    const deadline = Date.now() + timeoutMs;
    while (this.published < target) {
      if (Date.now() > deadline) throw new Error(`relay: position ${target} not published within ${timeoutMs} ms (at ${this.published})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async connectProducer(): Promise<Producer> {
    // idempotent: true makes kafkajs number each batch; with one request in flight a retried
    // batch cannot overtake the next one, so order per key survives retries.
    // The default partitioner is murmur2 on the key, as the Java client: stream → partition is stable
    // and the same for consumers in other languages.
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: guardedPartitioner(this.topic, () => this.partitions),
    });
    await producer.connect().catch((err: unknown) => {
      throw kafkaConnectError(err, this.kafkaConfig) ?? err;
    });
    return producer;
  }

  private async run(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; failures++) {
      if (this.setBackTo !== undefined) {
        // An operator's replay or Kafka-loss reset (docs/operations.md): say it was taken, once.
        this.options.log?.(
          `relay: checkpoint ${this.checkpointName} was set back from position ${this.published} to ${this.setBackTo}: publishing again from position ${this.setBackTo + 1} (consumers drop the repeats by event-id)`,
        );
        this.published = this.setBackTo;
        this.setBackTo = undefined;
      }
      // The feed ends on stop(), or when the checkpoint was set back while no event came (the
      // relay waits in the feed then): it is read again from there.
      const feed = new AbortController();
      const endFeed = () => feed.abort();
      signal.addEventListener('abort', endFeed, { once: true });
      const watch = setInterval(() => void this.checkSetBack().then((back) => back && endFeed(), () => undefined), this.options.checkpointPollMs ?? 5000);
      try {
        let setBack = false;
        for await (const batch of readBatches(this.store, { after: this.published, maxBatch: this.options.maxBatch ?? 500, signal: feed.signal })) {
          const done = await this.publish(batch, signal);
          failures = 0;
          if (signal.aborted) return;
          if (!done) {
            setBack = true;
            break;
          }
        }
        // A feed that ends by itself (the store closed under a running relay) would be read again
        // at once, and end again: a loop that never waits. Held as a store failure instead.
        if (!setBack && !feed.signal.aborted && !signal.aborted) throw new Error('the event store ended its feed');
      } catch (err) {
        this.options.onError?.(err);
        // Deposed: the new leader publishes from the checkpoint; going on would only add duplicates.
        if (isFenced(err)) return;
        // The store failed under the feed (or an event cannot be read): hold here, retry, never skip.
        this.stallOn(err, this.published + 1);
        await sleep(Math.min(5000, 1000 * 2 ** failures), signal);
        // The store answers again and holds nothing unpublished: nothing is held up any more.
        if ((await this.store.headPosition().catch(() => Infinity)) <= this.published) this.stall = undefined;
      } finally {
        clearInterval(watch);
        signal.removeEventListener('abort', endFeed);
      }
    }
  }

  /**
   * Whether the stored checkpoint was found below the last position this relay saved: an operator
   * set it back, or deleted it (-1), to republish the log. Saving over it would undo the replay, so
   * the relay publishes again from there instead; the point is kept (setBackTo) until the feed
   * restarts at it, so a save landing just after the look cannot make it forgotten.
   */
  private async checkSetBack(): Promise<boolean> {
    const stored = (await this.checkpoints.load(this.checkpointName)) ?? -1;
    if (stored < this.published) this.setBackTo = Math.min(stored, this.setBackTo ?? stored);
    return this.setBackTo !== undefined;
  }

  /**
   * Publish one batch until Kafka acknowledges it, checkpointing after each acknowledged part;
   * false when the checkpoint was found set back instead (the feed must restart from there).
   * Never skips an event: the batch goes out in requests of at most `maxRequestBytes`, a part Kafka
   * refuses as too large is sent in halves, in order, and a single event too large for the topic
   * holds the relay at that event (RELAY_EVENT_TOO_LARGE).
   */
  private async publish(batch: RecordedEvent[], signal: AbortSignal): Promise<boolean> {
    const items = batch.map((event) => {
      const message = toKafkaMessage(event);
      return { event, message, bytes: Buffer.byteLength(message.value as string) + RECORD_OVERHEAD };
    });
    const pending = splitByBytes(items, (x) => x.bytes, this.options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
    while (pending.length) {
      const part = pending[0];
      const sent = await this.send(part, signal);
      if (sent === 'set-back') return false;
      if (sent === 'too-large') {
        const half = Math.ceil(part.length / 2);
        pending.splice(0, 1, part.slice(0, half), part.slice(half));
        continue;
      }
      pending.shift();
      // Set back while this batch was out: the feed restarts there (what went out is duplicated).
      if (await this.checkSetBack()) return false;
      const last = part[part.length - 1].event.position;
      await this.checkpoints.save(this.checkpointName, last);
      this.published = last;
    }
    return true;
  }

  /**
   * Send until Kafka acknowledges, or refuses the part as too large while it can still be split, or
   * the checkpoint is found set back between two attempts (a replay asked for while held up).
   */
  private async send(part: { event: RecordedEvent; message: Message; bytes: number }[], signal: AbortSignal): Promise<'acked' | 'too-large' | 'set-back'> {
    const events = part.map((x) => x.event);
    const messages = part.map((x) => x.message);
    const contexts = this.options.traceContexts;
    // A cache miss or error only means the message starts no span: tracing never holds a publish back.
    const parents = contexts ? await Promise.all(events.map((e) => contexts.recall(e.id).catch(() => undefined))) : [];
    const spans = contexts ? startPublishSpans(this.topic, messages, parents) : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.fence?.();
        this.producer ??= await this.connectProducer();
        await this.producer.send({ topic: this.topic, acks: -1, messages });
        spans?.end();
        this.stall = undefined;
        return 'acked';
      } catch (err) {
        // A failed request may have been written to some partitions and not others: a fresh
        // producer (fresh producer id) restarts the sequence numbers, and resending the whole part
        // duplicates what was written (consumers dedupe by event-id) but never reorders a stream.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = undefined;
        if (isFenced(err)) {
          spans?.end(err);
          throw err;
        }
        if (isTooLarge(err) && part.length > 1) {
          spans?.end(err);
          return 'too-large';
        }
        // Kafka's failures get the relay's codes; the lease check's own (the database) keeps its code.
        const reported = isTooLarge(err)
          ? new RelayEventTooLargeError(this.topic, events[0], part[0].bytes - RECORD_OVERHEAD, err)
          : (ownError(err) ?? (isKafkaError(err) ? new RelayPublishError(this.topic, events[0].position, err) : err));
        this.stallOn(reported, events[0].position);
        this.options.onError?.(reported);
        // stop() during an outage must not hang: the batch stays unpublished and unacknowledged.
        if (signal.aborted && attempt > 0) {
          spans?.end(err);
          throw reported;
        }
        await sleep(Math.min(5000, 100 * 2 ** attempt), signal);
        // Held up, and told to publish from an earlier point: this part is not the next to go out.
        if (await this.checkSetBack().catch(() => false)) {
          spans?.end(err);
          return 'set-back';
        }
      }
    }
  }

  private stallOn(err: unknown, position: number): void {
    const since = this.stall?.position === position ? this.stall.since : new Date();
    this.stall = { code: errorCodeOf(err), message: (err as Error)?.message ?? String(err), position, since };
  }
}

const isFenced = (err: unknown) => (err as { code?: unknown } | null)?.code === 'LEASE_FENCED';
