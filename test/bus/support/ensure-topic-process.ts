/**
 * Another process ensuring the events topic: `tsx ensure-topic-process.ts <broker> <topic>`.
 * Prints one JSON line: `{partitions}` or `{error}`, with the ERROR lines kafkajs logged.
 */
import { logLevel, type LogEntry } from 'kafkajs';
import { ensureEventsTopic } from '../../../src/bus/kafka';

const [broker, topic] = process.argv.slice(2);
const errors: string[] = [];
const capture = () => (e: LogEntry) => void (e.level === logLevel.ERROR && errors.push(`${e.log.message}: ${String(e.log.error)}`));

ensureEventsTopic({ brokers: [broker], clientId: 'openmcp', logLevel: logLevel.INFO, logCreator: capture, retry: { retries: 0 } }, topic).then(
  (partitions) => console.log(JSON.stringify({ partitions, errors })),
  (err: Error) => console.log(JSON.stringify({ error: err.message, errors })),
);
