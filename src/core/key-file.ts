import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors';

/**
 * The secret kept in `file` (one line, mode 0600): read when the file exists, else made by
 * `create()` and written there. `check` throws for a file that does not hold a usable secret.
 *
 * Processes sharing the directory and starting together agree on one secret: the file is written
 * under a temporary name and then linked into place, which succeeds for the first process only
 * and makes the file appear whole (never empty or half-written); the others read the winner's.
 *
 * @example const { key, created } = loadOrCreateKeyFile(join(dataDir, 'sealer.key'), newKey, checkHexKey)
 */
export function loadOrCreateKeyFile(file: string, create: () => string, check: (text: string) => void): { key: string; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const key = create();
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, `${key}\n`, { mode: 0o600, flag: 'wx' });
    try {
      chmodSync(tmp, 0o600);
      if (placeOnce(tmp, file)) return { key, created: true };
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const key = readFileSync(file, 'utf8').trim();
  check(key);
  return { key, created: false };
}

/** Give `tmp`'s content the name `file` unless `file` exists; false when another process was first. */
function placeOnce(tmp: string, file: string): boolean {
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** For `check`: a private key file must hold 0x and 64 hex digits; the error names the variable that replaces the file. */
export function assertHexKey(text: string, file: string, variable: string): void {
  if (!/^0x[0-9a-f]{64}$/i.test(text)) throw new ConfigError(`${file} does not hold a 0x-prefixed 32-byte hex key (set ${variable}, or delete the file to generate one)`, { variable });
}
