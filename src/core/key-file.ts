import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors';

/**
 * The secret kept in `file` (one line, mode 0600): read when the file exists, else made by
 * `create()` and written there. `check` throws for a file that does not hold a usable secret; a
 * file other users can read or write is refused (ConfigError naming `variable`, which replaces it).
 *
 * Processes sharing the directory and starting together agree on one secret: the file is written
 * under a temporary name and then linked into place, which succeeds for the first process only
 * and makes the file appear whole (never empty or half-written); the others read the winner's.
 *
 * @example const { key, created } = loadOrCreateKeyFile(join(dataDir, 'sealer.key'), newKey, checkHexKey)
 */
export function loadOrCreateKeyFile(file: string, create: () => string, check: (text: string) => void, variable?: string): { key: string; created: boolean } {
  if (!existsSync(file)) {
    // A directory made here holds secrets (and, as DATA_DIR, the embedded database): owner only.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
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
  assertPrivate(file, variable);
  return { key, created: false };
}

/**
 * Refuse a key file that other users can read or write, or that another user owns, as ssh and
 * PostgreSQL do: whoever can read it holds the key (the admin key reaches every tenant), and
 * whoever can write it chooses the key. Written 0600 here; a copy or a restored backup may not be.
 */
function assertPrivate(file: string, variable: string | undefined): void {
  if (process.platform === 'win32') return;
  const st = statSync(file);
  const instead = variable ? `, or set ${variable} instead` : '';
  if (st.mode & 0o077) {
    throw new ConfigError(`${file} is open to other users (mode 0${(st.mode & 0o777).toString(8)}): chmod 600 ${file}${instead}`, variable ? { variable } : undefined);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new ConfigError(`${file} belongs to another user (uid ${st.uid}, this process runs as ${uid}): chown it${instead}`, variable ? { variable } : undefined);
  }
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
