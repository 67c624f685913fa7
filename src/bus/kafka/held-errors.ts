import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';

/** A kafkajs client configuration whose ERROR lines wait until its user knows which were expected. */
export type HeldErrors = {
  /** The configuration to build the client from: the original one, its ERROR lines held. */
  config: KafkaConfig;
  /** Forget the held lines `expected` picks: steps of a success that kafkajs logs as errors. */
  drop(expected: (entry: LogEntry) => boolean): void;
  /** Log every line still held, in order, as the original configuration would have. */
  release(): void;
};

/**
 * Hold back the ERROR lines of a client built from `config` (WARN and below pass at once), so that
 * an answer kafkajs logs at ERROR but its caller takes as expected (a CreateTopics that lost the
 * race to another process, a new topic's leader election) can be dropped once the operation is
 * known to have succeeded; whatever is left is logged through `config`'s own logCreator and level
 * (kafkajs's console logger when none), in order, just later.
 * @example const log = holdErrors(config); try { ...; log.drop(isRace) } finally { log.release() }
 */
export function holdErrors(config: KafkaConfig): HeldErrors {
  const forward = forwardLog(config);
  const held: LogEntry[] = [];
  return {
    config: { ...config, logCreator: () => (e) => (e.level === logLevel.ERROR ? void held.push(e) : forward(e)) },
    drop: (expected) => {
      for (let i = held.length - 1; i >= 0; i--) if (expected(held[i])) held.splice(i, 1);
    },
    release: () => {
      for (const e of held.splice(0)) forward(e);
    },
  };
}

/**
 * Log an entry one client's logCreator received as `config`'s own logCreator and level would
 * (kafkajs's console logger when none): for a logCreator that keeps some lines back.
 */
export function forwardLog(config: KafkaConfig): (entry: LogEntry) => void {
  const original = new Kafka(config).logger();
  return (e) => {
    // `extra` keeps the line's own timestamp (kafkajs lets it override the time of forwarding).
    const { message, ...extra } = e.log;
    const l = original.namespace(e.namespace);
    const write = e.level === logLevel.ERROR ? l.error : e.level === logLevel.WARN ? l.warn : e.level === logLevel.INFO ? l.info : l.debug;
    write(message, extra);
  };
}
