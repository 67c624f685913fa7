import { SqlCheckpointStore } from '../../src/checkpoints';
import { openKnex } from '../../src/db/knex';
import { sqlEventStoreOn } from '../../src/eventstore/sql';
import { Relay } from '../../src/relay';

/**
 * A relay in its own process, for the crash test: `tsx relay-child.ts <sqlite url> <broker> <topic> <maxBatch>`.
 * Prints "started" once publishing; the test kills it with SIGKILL mid-run.
 */
async function main(): Promise<void> {
  const [url, broker, topic, maxBatch] = process.argv.slice(2);
  const knex = await openKnex(url);
  const relay = new Relay(sqlEventStoreOn(knex), new SqlCheckpointStore(knex), { brokers: [broker], topic, maxBatch: Number(maxBatch) });
  await relay.start();
  process.stdout.write('started\n');
}

void main();
