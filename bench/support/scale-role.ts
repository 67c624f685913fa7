/**
 * One role of bench/scale.bench.ts in its own process, as `openmcp start --roles relay|projector`
 * runs it (same classes, without the HTTP server, gateway and chain the bench does not measure):
 *   tsx bench/support/scale-role.ts relay|projector
 * Env: BENCH_DB (mysql URL), BENCH_BROKERS, BENCH_TOPIC, BENCH_GROUP, BENCH_REDIS, BENCH_PREFIX;
 * BENCH_LOCK_HOLD_MS (experiment): how long a projector keeps the projections write lock across
 * batches (default 0 = take and release it per batch, as `openmcp start` does with Kafka; 250 = the single-process default).
 * Prints `ready` once started; stops cleanly on SIGTERM.
 */
import { openRedisCache } from '../../src/cache/redis';
import { KafkaBus } from '../../src/bus/kafka';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { openKnex } from '../../src/db/knex';
import { sqlEventStoreOn } from '../../src/eventstore/sql';
import { Projector } from '../../src/projector/projector';
import { Relay } from '../../src/relay';

async function main(): Promise<void> {
  const role = process.argv[2];
  const env = process.env;
  const knex = await openKnex(env.BENCH_DB!);
  const brokers = env.BENCH_BROKERS!.split(',');
  let stop: () => Promise<void>;
  if (role === 'relay') {
    const relay = new Relay(sqlEventStoreOn(knex), new SqlCheckpointStore(knex), { brokers, topic: env.BENCH_TOPIC });
    await relay.start();
    stop = () => relay.stop();
  } else if (role === 'projector') {
    const cache = await openRedisCache(env.BENCH_REDIS!, env.BENCH_PREFIX!);
    const bus = new KafkaBus({ brokers, topic: env.BENCH_TOPIC, onInvalidMessage: (err) => console.error(err) });
    const projector = new Projector({ knex, bus, cache, group: env.BENCH_GROUP, lockHoldMs: Number(env.BENCH_LOCK_HOLD_MS ?? 0) });
    // Experiment only: the hold time is not an option of Projector.
    await projector.start();
    stop = async () => {
      await projector.stop();
      await bus.close();
      await cache.close();
    };
  } else {
    throw new Error(`unknown role ${role}`);
  }
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void stop()
      .then(() => knex.destroy())
      .finally(() => process.exit(0));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
