import { context } from '@opentelemetry/api';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaConfig } from 'kafkajs';
import { ConfigError, OpenMcpError, UnavailableError } from '../../core/errors';
import { kafkaConnectError } from './connection-security';
import { startConsumeSpans } from '../../telemetry/kafka-trace-headers';
import { READINESS_CHECK_TIMEOUT_MS } from '../../telemetry/readiness-check';
import type { RecordedEvent } from '../../core/envelope';
import type { Bus, BusConsumer, BusHandler, ConsumeOptions } from '../port';
import { fromKafkaMessage } from './event-message';
import { eventsTopic } from './topic';
import { ensureEventsTopic } from './ensure-topic';
import { KafkaTopicMissingError } from './kafka-topic-missing-error';
import { PartitionBackoff, backoffWait, type BackoffOptions } from './partition-backoff';
import { stoppedReason, type ConsumerState } from './consumer-health';
import { KafkaConsumerStoppedError } from './consumer-stopped-error';
import { withoutRejoinErrors } from './quiet-rejoin';
import { isSessionTimeoutRefusal, sessionTimeoutRefused } from './session-timeout-refused';

export type KafkaBusOptions = {
  /** host:port list (KAFKA_BROKERS split on commas). */
  brokers: string[];
  clientId?: string;
  /** Events topic; default `eventsTopic()` = openmcp.events.v1. */
  topic?: string;
  /** Longest a fetch waits for new messages (default 500 ms): bounds how late a quiet consumer notices stop(). */
  maxWaitTimeInMs?: number;
  sessionTimeoutMs?: number;
  /**
   * Wait before a batch the handler failed is delivered again (default 300 ms, doubling up to
   * 5 s while it keeps failing). Only its partition waits; the member stays in the group.
   */
  backoff?: BackoffOptions;
  /** How often a member heartbeats (kafkajs default 3 s); must stay below `sessionTimeoutMs`. */
  heartbeatIntervalMs?: number;
  /**
   * Messages that are not envelopes, or whose hash does not check out (fromKafkaMessage), are
   * skipped (they could never be handled, and holding the partition on them would stop every
   * stream in it) and reported here: required, so a skip is never silent (main.ts logs it and
   * counts KAFKA_MESSAGE_INVALID in openmcp_errors_total).
   */
  onInvalidMessage: (err: unknown) => void;
  /**
   * A consumer kafkajs stopped for good (an error it does not retry: it logs the crash, and the
   * group's partitions go to its other members, if any), as a KafkaConsumerStoppedError
   * (KAFKA_CONSUMER_STOPPED, the broker's error its cause). The bus starts a new one in the same
   * group after `restart.inMs` (`restartBackoff`), from the group's committed offsets; a session
   * timeout the brokers refuse is not restarted (it would be refused again): it is reported as a
   * ConfigError naming KAFKA_SESSION_TIMEOUT_MS, without `restart`. Also called when a restart
   * fails to start (Kafka unreachable), with the next one.
   */
  onConsumerStopped?: (err: unknown, group: string, restart?: { inMs: number; attempt: number }) => void;
  /** A consumer the bus restarted (onConsumerStopped) joined its group again: it consumes, `attempt` restarts after it stopped. */
  onConsumerRestarted?: (group: string, attempt: number) => void;
  /**
   * Wait before a consumer kafkajs stopped is started again (default 1 s, doubling up to 30 s
   * while its restarts stop again, ±20 %). A consumer that ran that longest wait before it stopped
   * starts the backoff again.
   */
  restartBackoff?: BackoffOptions;
  /**
   * Runs `run` once after `ms` (a restart's backoff), returning what cancels it. Default: a timer
   * that does not hold the process open. Tests pass their own, to see a restart pending or cancelled.
   */
  schedule?: (run: () => void, ms: number) => () => void;
  /** Extra kafkajs client settings (ssl, sasl, retry, logLevel…). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
};

type RunningConsumer = { consumer: Consumer; backoff: PartitionBackoff };

/** One consume() call: the kafkajs consumer it runs now, if any, and its state (consumerStates). */
type Member = {
  readonly group: string;
  readonly handler: BusHandler;
  readonly options: ConsumeOptions;
  running?: RunningConsumer;
  state: ConsumerState;
  /** Stops in a row: each waits longer before its restart. */
  failures: number;
  /** When the running consumer last joined its group. */
  joinedAt?: number;
  /** Cancels the restart due, if any. */
  cancelRestart?: () => void;
  /** A start (consume's or a restart's) under way: a stop waits for it, then stops what it started. */
  starting?: Promise<void>;
  closed: boolean;
};

/** `run` after `ms`, on a timer that does not hold the process open; returns its cancel. */
function unrefTimeout(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Drop the pending resumes first, so no backoff holds the stop up. */
async function stopConsumer({ consumer, backoff }: RunningConsumer): Promise<void> {
  backoff.close();
  // disconnect() waits for the batch in hand, then commits resolved offsets and leaves the group.
  await consumer.disconnect();
}

/**
 * The bus over the Kafka events topic: each group is a Kafka consumer group. A handler gets one
 * partition's messages at a time (so order per stream holds) and the offsets are committed only
 * after it resolved: a crash redelivers the batch (at least once). A batch the handler failed is
 * delivered again by the same member after a backoff, its partition alone held meanwhile: the
 * member stays in the group, so a poison event rebalances nothing and holds no other partition.
 * @example const bus = new KafkaBus({ brokers: ['127.0.0.1:9092'], topic: eventsTopic('openmcp'), onInvalidMessage: (err) => log.error(err) })
 */
export class KafkaBus implements Bus {
  readonly name = 'kafka';
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly kafkaConfig: KafkaConfig;
  private readonly members = new Set<Member>();
  private admin?: Promise<Admin>;
  /** The readiness check's admin client (ping). */
  private probe?: Promise<Admin>;

  constructor(private readonly options: KafkaBusOptions) {
    this.topic = options.topic ?? eventsTopic();
    this.kafkaConfig = { logLevel: logLevel.WARN, ...options.kafka, brokers: options.brokers, clientId: options.clientId ?? 'openmcp' };
    this.kafka = new Kafka(withoutRejoinErrors(this.kafkaConfig));
  }

  async consume(group: string, handler: BusHandler, options: ConsumeOptions = {}): Promise<BusConsumer> {
    const member: Member = { group, handler, options, state: { group, state: 'running', since: new Date(), restarts: 0 }, failures: 0, closed: false };
    // Before it starts: a close() meanwhile, or a stop kafkajs reports while it joins, finds it.
    this.members.add(member);
    const starting = this.startConsumer(member);
    // A close() while it joins waits for the join, then stops it: kafkajs's disconnect during a
    // JoinGroup returns at once, and kafkajs then restarts the consumer on the closed connection.
    this.underWay(member, starting);
    try {
      await starting;
    } catch (err) {
      this.members.delete(member);
      await this.stopMember(member);
      throw err;
    }
    return {
      stop: async () => {
        this.members.delete(member);
        await this.stopMember(member);
      },
    };
  }

  /**
   * Each consumer of this bus: running, waiting to be restarted after kafkajs stopped it, or
   * stopped for good (a configuration the brokers refuse). For /readyz and the stopped-consumers
   * gauge (consumer-health.ts).
   * @example bus.consumerStates() // [{ group: 'openmcp-projector', state: 'restarting', reason: 'GROUP_AUTHORIZATION_FAILED: …', … }]
   */
  consumerStates(): ConsumerState[] {
    return [...this.members].map((m) => ({ ...m.state }));
  }

  /** A new kafkajs consumer for `member`, consuming once this resolves (it joins its group in the background). */
  private async startConsumer(member: Member): Promise<void> {
    const { group, handler, options } = member;
    // Before subscribing, so a missing topic gets the contract settings. Best effort: without the
    // right to create topics, the consumer goes on with the topic if it exists.
    const createFailure = await ensureEventsTopic(this.kafkaConfig, this.topic).then(() => undefined, (err: unknown) => err);
    // Stopped meanwhile (a restart's stop waits for it): no consumer to start and stop again.
    if (member.closed) return;
    const consumer = this.kafka.consumer({
      groupId: group,
      // kafkajs lets the broker auto-create a topic it asks metadata for: with the broker's defaults
      // (num.partitions, often 1; a 1 MiB max.message.bytes), and at once when the topic vanishes
      // under a running consumer (Kafka lost, topic deleted), before the relay can create it right.
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 500,
      ...(this.options.sessionTimeoutMs ? { sessionTimeout: this.options.sessionTimeoutMs } : {}),
      ...(this.options.heartbeatIntervalMs ? { heartbeatInterval: this.options.heartbeatIntervalMs } : {}),
    });
    const backoff = new PartitionBackoff(this.options.backoff);
    const running: RunningConsumer = { consumer, backoff };
    member.running = running;
    // An error kafkajs does not retry (a JoinGroup refused, the group's ACL removed), it stops the
    // consumer, also after consume() resolved (it joins in the background): said here, and
    // restarted, or it is only in its log and the projector sits idle.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) return this.crashed(member, running, payload.error);
      // kafkajs restarts it itself (an error it retries); one stopped meanwhile (its disconnect
      // came while it rejoined: it then crashed on the closed connection) it would restart after
      // close(). Its restart timer is set just after this event: stopped once it is.
      if (member.closed || member.running !== running) queueMicrotask(() => void consumer.disconnect().catch(() => undefined));
    });
    consumer.on(consumer.events.GROUP_JOIN, () => this.joined(member, running));
    const abandon = () => {
      backoff.close();
      if (member.running === running) member.running = undefined;
    };
    await consumer.connect().catch((err: Error) => {
      abandon();
      // kafkajs's own error prints as a stack of its internals, naming no setting.
      throw kafkaConnectError(err, this.kafkaConfig) ?? new UnavailableError('kafka', `cannot connect to ${this.options.brokers.join(',')} (KAFKA_BROKERS): ${err.message}`, err);
    });
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: options.start !== 'end' });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, pause, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const events: RecordedEvent[] = [];
          for (const m of batch.messages) {
            try {
              events.push(fromKafkaMessage(m.value, `${batch.topic}/${batch.partition}@${m.offset}`));
            } catch (err) {
              this.options.onInvalidMessage(err);
            }
          }
          if (events.length) {
            // A CONSUMER span per traced message (none when tracing is off or headers carry no
            // trace); the handler runs in the first one, so its spans join that request's trace.
            const spans = startConsumeSpans(batch.topic, group, batch.messages.map((m) => m.headers));
            try {
              await (spans.context ? context.with(spans.context, () => handler(events)) : handler(events));
              spans.end();
            } catch (err) {
              spans.end(err);
              // Not thrown to kafkajs: its retries end in a consumer crash and restart, which
              // leaves and rejoins the group, a rebalance of every member per retry. Instead this
              // partition alone is paused for the backoff, while the member fetches (and so
              // heartbeats) for its others. Nothing is resolved: kafkajs fetches a partition from
              // its last resolved offset, so the resumed partition starts at this batch again (no
              // seek needed, which would commit that offset once more on every retry).
              backoff.hold(batch.partition, pause);
              return;
            }
          }
          backoff.applied(batch.partition);
          resolveOffset(batch.messages[batch.messages.length - 1].offset);
          // Commit now rather than on kafkajs's timer: progress is durable as soon as it is handled.
          await commitOffsetsIfNecessary(uncommittedOffsets());
          await heartbeat();
        },
      });
    } catch (err) {
      abandon();
      await consumer.disconnect();
      if ((err as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new KafkaTopicMissingError(this.topic, createFailure, err);
      // A SASL listener lets a client without SASL connect, and closes on its first request (here).
      throw kafkaConnectError(err, this.kafkaConfig) ?? err;
    }
  }

  /** kafkajs stopped `running` for good (it disconnected it first): report it, and restart unless the configuration is refused. */
  private crashed(member: Member, running: RunningConsumer, error: unknown): void {
    if (member.running !== running || member.closed) return;
    running.backoff.close();
    member.running = undefined;
    this.stopped(
      member,
      isSessionTimeoutRefusal(error)
        ? sessionTimeoutRefused(this.options.sessionTimeoutMs, member.group, error)
        : error instanceof OpenMcpError
          ? error
          : new KafkaConsumerStoppedError(member.group, error),
    );
  }

  /** `member` has no consumer since `err`: wait, then start another; a configuration the brokers refuse stays stopped. */
  private stopped(member: Member, err: unknown): void {
    const now = Date.now();
    const restart = { initialMs: this.options.restartBackoff?.initialMs ?? 1000, maxMs: this.options.restartBackoff?.maxMs ?? 30_000 };
    const wasRunning = member.state.state === 'running';
    const since = wasRunning ? new Date(now) : member.state.since;
    const restarts = wasRunning ? 0 : member.state.restarts + 1;
    // The broker's error as it gave it (GROUP_AUTHORIZATION_FAILED: …), not the wrapper's sentence.
    const reason = err instanceof KafkaConsumerStoppedError ? stoppedReason(err.cause) : stoppedReason(err);
    // Ran as long as the longest wait: a new trouble, not the same one again.
    if (member.joinedAt !== undefined && now - member.joinedAt >= restart.maxMs) member.failures = 0;
    member.joinedAt = undefined;
    if (err instanceof ConfigError) {
      member.state = { group: member.group, state: 'stopped', since, reason, restarts };
      this.options.onConsumerStopped?.(err, member.group);
      return;
    }
    member.failures++;
    const wait = backoffWait(member.failures, restart);
    member.state = { group: member.group, state: 'restarting', since, reason, restarts, restartAt: new Date(now + wait) };
    member.cancelRestart = (this.options.schedule ?? unrefTimeout)(() => {
      member.cancelRestart = undefined;
      this.underWay(member, this.restart(member));
    }, wait);
    this.options.onConsumerStopped?.(err, member.group, { inMs: wait, attempt: restarts + 1 });
  }

  private async restart(member: Member): Promise<void> {
    if (member.closed) return;
    try {
      await this.startConsumer(member);
    } catch (err) {
      // Kafka unreachable, say: the next restart waits longer. (Stopped meanwhile: nothing to do;
      // already rescheduled by a stop kafkajs reported while it started: nothing more.)
      if (!member.closed && !member.cancelRestart && member.state.state === 'restarting') this.stopped(member, err);
    }
  }

  /** `running` joined its group: consuming (again). */
  private joined(member: Member, running: RunningConsumer): void {
    if (member.running !== running || member.closed) return;
    member.joinedAt = Date.now();
    if (member.state.state === 'running') return;
    const attempt = member.state.restarts + 1;
    member.state = { group: member.group, state: 'running', since: new Date(), restarts: 0 };
    this.options.onConsumerRestarted?.(member.group, attempt);
  }

  /** `start` (of `member`'s consumer) is under way: a stop waits for it to settle, either way. */
  private underWay(member: Member, start: Promise<void>): void {
    const settled = start.then(
      () => undefined,
      () => undefined,
    );
    member.starting = settled;
    void settled.then(() => {
      if (member.starting === settled) member.starting = undefined;
    });
  }

  /** No restart after this; the start under way, if any, is waited for, then its consumer stopped. */
  private async stopMember(member: Member): Promise<void> {
    member.closed = true;
    member.cancelRestart?.();
    member.cancelRestart = undefined;
    await member.starting;
    const running = member.running;
    member.running = undefined;
    if (running) await stopConsumer(running);
  }

  /**
   * Messages on the topic that `group` has not handled yet: per partition, the end offset minus
   * the group's committed offset (or the partition's start, where it has committed none). This is
   * the group's lag whichever member holds which partition, and a partition held up shows in it
   * while the others go on (a watermark of positions applied hides it: partitions apply out of
   * global order).
   * @example await bus.pending('openmcp-projector') // 3
   */
  async pending(group: string): Promise<number> {
    const admin = await this.connectedAdmin();
    const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(this.topic), admin.fetchOffsets({ groupId: group, topics: [this.topic] })]);
    const committed = new Map((groups.find((t) => t.topic === this.topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let pending = 0;
    for (const p of ends) {
      // Where the group resumes: its committed offset, or the start of the partition when it has
      // none or the retention deleted past it (this bus's groups start at the beginning).
      const from = Math.max(committed.get(p.partition) ?? -1, Number(p.low));
      pending += Math.max(0, Number(p.high) - from);
    }
    return pending;
  }

  /**
   * Resolves once a broker answers a metadata request (the cluster's description); rejects when
   * none does. For /readyz, run every few seconds by probes and scrapes: its client of its own
   * tries once and logs nothing (the outage is the check's answer, not a stream of kafkajs ERROR
   * lines from every process that has KAFKA_BROKERS), and stays connected between checks. It waits
   * for an answer no longer than the readiness check does (READINESS_CHECK_TIMEOUT_MS): kafkajs's
   * 30 s would leave a request pending per check against a broker that never answers, and hold
   * close() (kafkajs's disconnect waits for a connect under way), so a process's stop, that long.
   * @example await bus.ping()
   */
  async ping(): Promise<void> {
    if (!this.probe) {
      const t = READINESS_CHECK_TIMEOUT_MS;
      const admin = new Kafka({
        ...this.kafkaConfig,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: Math.min(this.kafkaConfig.connectionTimeout ?? t, t),
        authenticationTimeout: t,
        requestTimeout: t,
        enforceRequestTimeout: true,
      }).admin();
      this.probe = admin.connect().then(() => admin);
    }
    const probe = this.probe;
    try {
      await (await probe).describeCluster();
    } catch (err) {
      // A failed connect or request is not kept: the next check connects afresh.
      if (this.probe === probe) this.probe = undefined;
      void probe.then((a) => a.disconnect(), () => undefined);
      // /readyz's detail: credentials or TLS refused, named with the settings to check.
      throw kafkaConnectError(err, this.kafkaConfig) ?? err;
    }
  }

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      // A failed connect is not kept: the next call (the next scrape) tries again.
      this.admin = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.admin = undefined;
          throw err;
        },
      );
    }
    return this.admin;
  }

  async close(): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    const admins = [this.admin, this.probe];
    this.admin = undefined;
    this.probe = undefined;
    await Promise.all([...all.map((m) => this.stopMember(m)), ...admins.map((admin) => admin?.then((a) => a.disconnect(), () => undefined))]);
  }
}

// For the composition root, which loads kafkajs only with KAFKA_BROKERS (through this module).
export { kafkaLogCreator } from './log-creator';
