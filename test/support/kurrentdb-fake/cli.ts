import { startKurrentFake } from './index';

/**
 * Run the KurrentDB fake in its own process (multi-process tests, benchmarks):
 *   npx tsx test/support/kurrentdb-fake/cli.ts
 * Prints one JSON line `{"url":"kurrentdb://127.0.0.1:PORT?tls=false"}` once it listens; stops on SIGTERM/SIGINT.
 * The log is in memory: it lives as long as this process.
 */
async function main(): Promise<void> {
  const fake = await startKurrentFake();
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => void fake.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
