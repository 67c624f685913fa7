/**
 * `npm run bench [-- name …]`: run the benchmarks one after another, each in its own process
 * (so one cannot warm or starve the next), printing each one's same-run ratios.
 * Names: the file stems in bench/ (append, sealing, search, relay, projector, gateway,
 * registry-start, api, scale, cache-start, list-pages, subject-export, audit-tail, stdio-start,
 * task-steps).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const all = readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  console.log(`\n=== ${name} (${new Date().toISOString()})`);
  const r = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), join(__dirname, `${name}.bench.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`=== ${name} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
