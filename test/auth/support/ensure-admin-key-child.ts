// One process starting: waits for the shared start time, then makes sure of the admin key in DATA_DIR (argv[2]).
import { ensureAdminKey } from '../../../src/auth/ensure-admin-key';
import { MemoryKeyStore } from '../../../src/auth/memory-key-store';

const [dataDir, startAt] = [process.argv[2], Number(process.argv[3])];
const go = async () => {
  while (Date.now() < startAt) await new Promise((r) => setImmediate(r));
  const r = await ensureAdminKey({ dataDir }, new MemoryKeyStore());
  process.stdout.write(JSON.stringify(r));
};
go().catch((err) => {
  process.stderr.write(String((err as Error).stack));
  process.exit(1);
});
