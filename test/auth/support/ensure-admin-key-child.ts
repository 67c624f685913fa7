// One process starting, once per round: each stdin line is a shared start time; the process waits
// for it, then makes sure of the admin key in DATA_DIR (argv[2]) and writes the result as one line.
// It stays up between rounds, so a round costs no process start-up (seconds under tsx).
import { createInterface } from 'node:readline';
import { ensureAdminKey } from '../../../src/auth/ensure-admin-key';
import { MemoryKeyStore } from '../../../src/auth/memory-key-store';

const dataDir = process.argv[2];
const round = async (startAt: number) => {
  // Sleep until just before the start, then spin: every process leaves the wait at the same instant.
  const early = startAt - Date.now() - 20;
  if (early > 0) await new Promise((r) => setTimeout(r, early));
  while (Date.now() < startAt) await new Promise((r) => setImmediate(r));
  const r = await ensureAdminKey({ dataDir }, new MemoryKeyStore());
  process.stdout.write(`${JSON.stringify(r)}\n`);
};
const lines = createInterface({ input: process.stdin });
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(() => round(Number(line))).catch((err) => {
    process.stderr.write(String((err as Error).stack));
    process.exit(1);
  });
});
process.stdout.write('ready\n');
