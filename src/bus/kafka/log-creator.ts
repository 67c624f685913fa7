import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * kafkajs's log lines written through the process's pino logger: JSON like every other line, at
 * LOG_LEVEL (kafkajs's own console logger ignored it, `silent` included, and wrote lines of
 * another shape), with `component: 'kafkajs'` and kafkajs's namespace and fields. kafkajs's own
 * `logLevel` (WARN by default here) still chooses what it hands over.
 * @example new Kafka({ brokers, logCreator: kafkaLogCreator(logger) })
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => (entry) => {
    // kafkajs's `timestamp` and `logger: 'kafkajs'` are pino's `time` and our `component`.
    const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry.log as { message: string; timestamp?: string; logger?: string };
    const line = { component: 'kafkajs', namespace: entry.namespace, ...fields };
    if (entry.level === logLevel.ERROR) logger.error(line, message);
    else if (entry.level === logLevel.WARN) logger.warn(line, message);
    else if (entry.level === logLevel.INFO) logger.info(line, message);
    else logger.debug(line, message);
  };
}
