import { ConfigError } from './errors';

/**
 * Load a module that only one configuration needs (KurrentDB, Kafka, the LLM SDK, usearch) when
 * that configuration is chosen, not at start-up: the embedded default (SQLite, in-process bus,
 * no LLM, no embeddings) must not pay for clients it never uses, and every `openmcp start` does.
 * `load` calls `require` in the caller's module so that relative paths resolve there; it is
 * `require`, not `import()`, because the sources run as CommonJS through tsx, which a native
 * `import()` of a .ts file would bypass. Throws CONFIG_INVALID naming `setting` when the module is
 * missing or fails to load.
 * @example const { KafkaBus } = loadOptional('KAFKA_BROKERS', () => require('../bus/kafka/kafka-bus') as typeof import('../bus/kafka/kafka-bus'));
 */
export function loadOptional<T>(setting: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    throw new ConfigError(`${setting} is set but the module it needs cannot be loaded: ${(err as Error).message}`, { variable: setting });
  }
}
