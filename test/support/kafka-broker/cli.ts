import { startKafkaBroker } from './broker';

/**
 * Run the test broker in its own process (benchmarks, multi-process tests):
 *   npx tsx test/support/kafka-broker/cli.ts [--port 9092] [--partitions 3]
 * Prints one JSON line `{"brokers":["127.0.0.1:PORT"]}` once it listens; stops on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const broker = await startKafkaBroker({ port: arg('port') ?? 0, defaultPartitions: arg('partitions') });
  process.stdout.write(`${JSON.stringify({ brokers: broker.brokers })}\n`);
  const stop = () => void broker.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
