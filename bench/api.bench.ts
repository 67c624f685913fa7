/**
 * GET /v1/tasks/:id through the whole API (API-key auth, permission check, rate limit, request
 * id, metrics, zod response serialization, SqlReadModels answering from its cache) next to a bare
 * fastify route returning a constant, both served by one child process and measured by autocannon
 * in this process, one after the other in the same run. Target: >= 50% of the bare route's req/s.
 * Run: npx tsx bench/api.bench.ts   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS to change the load)
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { catalog } from '../events';
import { migrateLatest } from '../migrations';
import { buildApp } from '../src/api/build-app';
import { createLogger } from '../src/api/logger';
import { generateApiKey } from '../src/auth/api-key';
import { SqlKeyStore } from '../src/auth/sql-key-store';
import { InProcessBus } from '../src/bus/inprocess';
import { MemoryCache } from '../src/cache/memory';
import { MemoryCheckpointStore } from '../src/checkpoints/memory-checkpoint-store';
import { newId } from '../src/core/ids';
import { openKnex } from '../src/db/knex';
import { sqlEventStoreOn } from '../src/eventstore/sql';
import { Projector } from '../src/projector/projector';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { printTable } from './stats';

// autocannon ships no types; this is the part used here.
type AutocannonResult = { requests: { average: number; total?: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
type AutocannonOptions = { url: string; headers?: Record<string, string>; connections: number; duration: number; pipelining?: number };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (o: AutocannonOptions, cb: (err: Error | null, r: AutocannonResult) => void) => unknown;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

type Ready = { api: string; bare: string; auth: string; taskId: string };

/** The child: the API on a SQLite file with one task, and the bare fastify route. */
async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-bench-api-'));
  const knex = await openKnex(`sqlite:${join(dir, 'bench.db')}`);
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex);
  const cache = new MemoryCache();
  const projector = new Projector({ knex, bus: new InProcessBus(store, new MemoryCheckpointStore()), cache });
  await projector.start();
  const readModels = new SqlReadModels({ knex, cache, applied: projector.applied });
  const keys = new SqlKeyStore(knex);
  const g = generateApiKey();
  await keys.insert({ id: newId(), tenant: 'bench', role: 'viewer', crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: new Date().toISOString(), createdBy: 'bench' });
  const writer = generateApiKey();
  await keys.insert({ id: newId(), tenant: 'bench', role: 'agent', crossTenant: false, prefix: writer.prefix, hash: writer.hash, createdAt: new Date().toISOString(), createdBy: 'bench' });
  const app = await buildApp({
    store,
    catalog,
    readModels,
    cache,
    keys,
    rateLimit: { perKeyPerMinute: 100_000_000, perTenantPerMinute: 100_000_000 },
    // Request logging is per-deployment; both servers here log nothing per request.
    logger: createLogger('warn'),
  });
  const api = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${writer.key}` }, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }], agentId: 'bench' } });
  const taskId = (res.json() as { id: string }).id;
  const bareApp = Fastify({ logger: false });
  bareApp.get('/bare', async () => ({ ok: true }));
  const bare = await bareApp.listen({ host: '127.0.0.1', port: 0 });
  process.send!({ api, bare, auth: `Bearer ${g.key}`, taskId } satisfies Ready);
  // CPU time used so far, for requests per CPU-second (robust to other load on the machine).
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMicros: u.user + u.system });
    }
  });
  process.on('disconnect', async () => {
    await app.close();
    await bareApp.close();
    await projector.stop();
    await store.close();
    await knex.destroy();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

type Measured = AutocannonResult & { perCpuSecond: number };

function median<T extends { requests: { average: number } }>(runs: T[], key: (r: T) => number = (r) => r.requests.average): T {
  return [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)];
}

function run(url: string, headers: Record<string, string>): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function main(): Promise<void> {
  const child = fork(__filename, ['serve'], { execArgv: [...(__filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])] });
  const ready = await new Promise<Ready>((resolve) => child.once('message', (m) => resolve(m as Ready)));
  try {
    const apiUrl = `${ready.api}/v1/tasks/${ready.taskId}`;
    const check = await fetch(apiUrl, { headers: { authorization: ready.auth } });
    if (check.status !== 200) throw new Error(`GET ${apiUrl}: ${check.status} ${await check.text()}`);
    // Warm both (JIT, the read-model cache, the key cache) before measuring.
    await Promise.all([
      new Promise((r) => autocannon({ url: apiUrl, headers: { authorization: ready.auth }, connections: 4, duration: 2 }, r)),
      new Promise((r) => autocannon({ url: `${ready.bare}/bare`, connections: 4, duration: 2 }, r)),
    ]);
    // The machine is shared: alternate short runs of each side and keep the median of each, so a
    // burst of other load does not land on one side only.
    const cpu = () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as { cpuMicros: number }).cpuMicros));
        child.send('cpu');
      });
    const measured = async (url: string, headers: Record<string, string>): Promise<Measured> => {
      const c0 = await cpu();
      const r = await run(url, headers);
      const c1 = await cpu();
      return { ...r, perCpuSecond: (r.requests.total ?? r.requests.average * SECONDS) / ((c1 - c0) / 1e6) };
    };
    const bareRuns: Measured[] = [];
    const apiRuns: Measured[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (process.env.BENCH_ONLY !== 'api') bareRuns.push(await measured(`${ready.bare}/bare`, {}));
      if (process.env.BENCH_ONLY !== 'bare') apiRuns.push(await measured(apiUrl, { authorization: ready.auth }));
    }
    for (const r of [...bareRuns, ...apiRuns]) {
      if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
    }
    if (!bareRuns.length || !apiRuns.length) {
      console.log(JSON.stringify({ bare: bareRuns.map((r) => r.requests.average), api: apiRuns.map((r) => r.requests.average) }));
      return;
    }
    const bare = median(bareRuns);
    const api = median(apiRuns);
    const bareCpu = median(bareRuns, (r) => r.perCpuSecond).perCpuSecond;
    const apiCpu = median(apiRuns, (r) => r.perCpuSecond).perCpuSecond;
    const ratio = api.requests.average / bare.requests.average;
    console.log(`node ${process.version}, ${ROUNDS} alternating rounds of ${SECONDS} s per side (median shown), ${CONNECTIONS} connections, both servers in one child process`);
    const load = (await import('node:os')).loadavg()[0];
    printTable([
      { route: 'bare fastify GET /bare (constant)', 'req/s': Math.round(bare.requests.average), 'p50 ms': bare.latency.p50, 'p99 ms': bare.latency.p99, 'vs bare': '1.00', 'req per server CPU-s': Math.round(bareCpu), 'CPU vs bare': '1.00' },
      { route: 'GET /v1/tasks/:id (auth on, cached)', 'req/s': Math.round(api.requests.average), 'p50 ms': api.latency.p50, 'p99 ms': api.latency.p99, 'vs bare': ratio.toFixed(2), 'req per server CPU-s': Math.round(apiCpu), 'CPU vs bare': (apiCpu / bareCpu).toFixed(2) },
    ]);
    console.log(`load average at the end: ${load.toFixed(2)} (2 cores); other processes share the machine`);
    console.log(ratio >= 0.5 ? `OK: ${(ratio * 100).toFixed(0)}% of the bare route (target >= 50%)` : `BELOW TARGET: ${(ratio * 100).toFixed(0)}% of the bare route (target >= 50%)`);
  } finally {
    child.disconnect();
  }
}

if (process.argv[2] === 'serve') void serve();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
