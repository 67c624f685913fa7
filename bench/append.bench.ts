/**
 * Durable append throughput and latency of the SQL event store on MariaDB at concurrency
 * 1, 16 and 64, next to a baseline measured in the same run: plain multi-row INSERTs of the
 * same rows (64 per transaction) into a copy of the events table, same server, same durability.
 * Run: npm run bench:append   (MariaDB at TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306)
 */
import { performance } from 'node:perf_hooks';
import { createEvent, type PendingEvent } from '../src/core/envelope';
import { openKnex } from '../src/db/knex';
import { openSqlEventStore } from '../src/eventstore/sql';
import { toRow } from '../src/eventstore/sql/rows';
import { createTestDatabase } from '../test/support/services';
import { printTable, summarize } from './stats';

const TOTAL = Number(process.env.BENCH_APPEND_EVENTS ?? 4000);
const actor = { kind: 'agent' as const, id: 'bench' };

function makeEvents(n: number, tag: string): PendingEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const stream = `task-${tag}-${i}`;
    return createEvent({ type: 'TaskSubmitted', stream, tenant: 'bench', actor, data: { instruction: `do thing ${i} `.repeat(4), agentId: 'a-1' } });
  });
}

async function main() {
  const db = await createTestDatabase('omc_bench_append');
  const store = await openSqlEventStore(db.url);
  const knex = await openKnex(db.url);
  const durability = await knex.raw("SHOW VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit','sync_binlog','log_bin')");
  console.log('durability:', (durability[0] as { Variable_name: string; Value: string }[]).map((r) => `${r.Variable_name}=${r.Value}`).join(' '));
  await knex.raw('CREATE TABLE baseline_events LIKE events');
  const rows: Record<string, string | number>[] = [];
  try {
    // Baseline: the same row shape, 64 rows per INSERT and per transaction, one connection.
    const baseEvents = makeEvents(TOTAL, 'base');
    let pos = 0;
    const baseLat: number[] = [];
    const b0 = performance.now();
    for (let i = 0; i < baseEvents.length; i += 64) {
      const t = performance.now();
      const batch = baseEvents.slice(i, i + 64).map((e) => toRow(e, 0, pos++));
      await knex.transaction((trx) => trx('baseline_events').insert(batch));
      baseLat.push(performance.now() - t);
    }
    const baseRate = TOTAL / ((performance.now() - b0) / 1000);
    const bs = summarize(baseLat);
    rows.push({ run: 'baseline: INSERT 64 rows/txn', concurrency: 1, 'rows/s': Math.round(baseRate), 'p50 ms': bs.p50, 'p99 ms': bs.p99, 'vs baseline': '1.00' });

    for (const c of [1, 16, 64]) {
      const events = makeEvents(c === 1 ? Math.min(TOTAL, 1000) : TOTAL, `c${c}`);
      let next = 0;
      const lat: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (next < events.length) {
            const e = events[next++];
            const t = performance.now();
            await store.append(e.stream, [e], { expectedRevision: 'no_stream' });
            lat.push(performance.now() - t);
          }
        }),
      );
      const rate = events.length / ((performance.now() - t0) / 1000);
      const s = summarize(lat);
      rows.push({ run: 'event store append', concurrency: c, 'rows/s': Math.round(rate), 'p50 ms': s.p50, 'p99 ms': s.p99, 'vs baseline': (rate / baseRate).toFixed(2) });
    }
  } finally {
    await store.close();
    await knex.destroy();
    await db.drop();
  }
  printTable(rows);
  const c64 = rows.find((r) => r.concurrency === 64 && r.run === 'event store append');
  console.log(`target: concurrency 64 >= 0.50 of baseline rows/s -> ${c64?.['vs baseline']} ${Number(c64?.['vs baseline']) >= 0.5 ? 'MET' : 'NOT MET'}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
